// The Go client of the credential broker. build.sh builds and tests it in
// GOPATH mode (GO111MODULE=off ignores this file); in module mode elsewhere,
// run `go generate` here first, then `go mod tidy` with a module proxy.
module credbroker/client

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
