// Package credbroker is the Go client of the credential broker
// (gRPC service credbroker.v1.CredentialBroker): login with the two-factor
// step, token sources that refresh caller-held sessions and re-issue
// script sessions, and typed errors carrying the broker's ErrorDetail.
//
// The generated gRPC code lives in the subpackage credbrokerv1, checked in so
// that `go get` needs no protoc; `build.sh --regenerate` remakes it from
// proto/credbroker/v1/broker.proto.
//
//	c, err := credbroker.Dial(ctx, "broker.internal:443", credbroker.WithCA("ca.pem"))
//	sess, err := c.Login(ctx, "alice", password, askPerson)
//	ts := c.SessionTokenSource(sess)
//	tok, err := ts.Token(ctx) // refreshed when it expires within a minute
package credbroker // import "github.com/studio-example/credential-broker/clients/go"
