// Session tokens and the browser-approved login in the Go client:
// ExchangeSessionToken turns a ShotGrid session token into REST tokens;
// BeginBrowserLogin, CompleteBrowserLogin and the BrowserLogin loop log a
// person in through the site's app session launcher, which works on password,
// SSO and Autodesk Identity sites alike.
package credbroker

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// BrowserLoginChallenge is what BeginBrowserLogin answers: the person opens
// ApprovalUrl and approves; CompleteBrowserLogin(RequestId) answers the
// session. It expires at ExpireTime (180 s after the start).
type BrowserLoginChallenge = pb.BrowserLoginChallenge

// DefaultBrowserWait is how long CompleteBrowserLogin waits at the broker
// when asked to wait as long as the broker likes; MaxBrowserWait is the most
// the broker accepts.
const (
	DefaultBrowserWait = 30 * time.Second
	MaxBrowserWait     = 60 * time.Second
)

// ExchangeSessionToken exchanges a ShotGrid session token (from
// shotgun_api3, Toolkit or a browser login) for REST tokens (a SessionId
// instead of the refresh token with TOKEN_CUSTODY_BROKER). The session names
// no principal: the site's answer does not say whose it is. A token the site
// refuses is ReasonInvalidCredentials.
func (c *Client) ExchangeSessionToken(ctx context.Context, sessionToken string, custody pb.TokenCustody) (*Session, error) {
	s, err := c.rpc.ExchangeSessionToken(ctx, &pb.ExchangeSessionTokenRequest{
		Site: c.site, SessionToken: sessionToken, Custody: custody,
	})
	return s, fromRPC(err)
}

// BrowserLoginOption configures BeginBrowserLogin and BrowserLogin.
type BrowserLoginOption func(*pb.BeginBrowserLoginRequest)

// WithAppName names the application on the approval page (default: the
// broker's name).
func WithAppName(name string) BrowserLoginOption {
	return func(r *pb.BeginBrowserLoginRequest) { r.AppName = name }
}

// WithMachineID names the machine on the approval page (default: the
// broker's host).
func WithMachineID(id string) BrowserLoginOption {
	return func(r *pb.BeginBrowserLoginRequest) { r.MachineId = id }
}

// WithBrowserKind asks for a session of this kind (default KindREST: the
// broker exchanges the approved session token for REST tokens).
func WithBrowserKind(kind pb.CredentialKind) BrowserLoginOption {
	return func(r *pb.BeginBrowserLoginRequest) { r.Kind = kind }
}

// WithBrowserCustody chooses who keeps the refresh token of a REST session
// (default the caller).
func WithBrowserCustody(custody pb.TokenCustody) BrowserLoginOption {
	return func(r *pb.BeginBrowserLoginRequest) { r.Custody = custody }
}

// BeginBrowserLogin starts a login that the person approves in a browser.
func (c *Client) BeginBrowserLogin(ctx context.Context, opts ...BrowserLoginOption) (*BrowserLoginChallenge, error) {
	req := &pb.BeginBrowserLoginRequest{Site: c.site}
	for _, o := range opts {
		o(req)
	}
	ch, err := c.rpc.BeginBrowserLogin(ctx, req)
	return ch, fromRPC(err)
}

// CompleteBrowserLogin waits up to wait (at most MaxBrowserWait; 0 asks the
// site once) for the person's approval and answers the session. Still
// pending when wait ends: ReasonApprovalPending (with RetryAfter); rejected,
// expired or already completed: ReasonChallengeNotFound. Without a deadline
// in ctx the call gets wait plus the client's timeout.
func (c *Client) CompleteBrowserLogin(ctx context.Context, requestID string, wait time.Duration) (*Session, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+c.timeout)
		defer cancel()
	}
	s, err := c.rpc.CompleteBrowserLogin(ctx, &pb.CompleteBrowserLoginRequest{
		RequestId: requestID, Wait: durationpb.New(wait),
	})
	return s, fromRPC(err)
}

// BrowserLogin is the whole browser-approved login: BeginBrowserLogin,
// show (print or open the ApprovalUrl; an error from it ends the login),
// then CompleteBrowserLogin until the person approves, the request expires
// or ctx ends.
func (c *Client) BrowserLogin(ctx context.Context, show func(*BrowserLoginChallenge) error, opts ...BrowserLoginOption) (*Session, error) {
	ch, err := c.BeginBrowserLogin(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if err := show(ch); err != nil {
		return nil, err
	}
	for {
		s, err := c.CompleteBrowserLogin(ctx, ch.GetRequestId(), DefaultBrowserWait)
		if !HasReason(err, ReasonApprovalPending) || !time.Now().Before(timeOf(ch.GetExpireTime())) {
			return s, err
		}
	}
}
