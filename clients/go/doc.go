// Package credbroker is the Go client of the credential broker
// (gRPC service credbroker.v1.CredentialBroker): login with the two-factor
// step, token sources that refresh caller-held sessions and re-issue
// script sessions, and typed errors carrying the broker's ErrorDetail.
//
// The generated gRPC code lives in the subpackage credbrokerv1, which is not
// checked in: build.sh (or `go generate` here) produces it from
// proto/credbroker/v1/broker.proto.
//
//	c, err := credbroker.Dial(ctx, "broker.internal:443", credbroker.WithCA("ca.pem"))
//	sess, err := c.Login(ctx, "alice", password, askPerson)
//	ts := c.SessionTokenSource(sess)
//	tok, err := ts.Token(ctx) // refreshed when it expires within a minute
package credbroker // import "credbroker/client"

//go:generate sh -c "mkdir -p credbrokerv1 && protoc -I ../../proto -I /usr/include --go_out=. --go_opt=module=credbroker/client --go_opt=Mcredbroker/v1/broker.proto=credbroker/client/credbrokerv1 --go-grpc_out=. --go-grpc_opt=module=credbroker/client --go-grpc_opt=Mcredbroker/v1/broker.proto=credbroker/client/credbrokerv1 credbroker/v1/broker.proto"
