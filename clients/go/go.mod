// The Go client of the credential broker. build.sh builds and tests it in
// GOPATH mode (GO111MODULE=off ignores this file); elsewhere `go get` it: the
// generated credbrokerv1 code is checked in.
module github.com/studio-example/credential-broker/clients/go

go 1.19

require (
	golang.org/x/oauth2 v0.3.0
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
