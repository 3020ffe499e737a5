// Connection set-up and the broker calls of the Go client: Dial with its
// options (CA bundle, client certificate, service bearer token), Login with
// the two-factor step, Refresh, Revoke and ScriptSession (REST tokens or
// session tokens, rejected_token), and the calls on held sessions (broker
// custody): GetAccessToken and RevokeSession. Session-token exchange and the
// browser-approved login are in browserlogin.go.
package credbroker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	// Client-side health checking (the service config's healthCheckConfig):
	// with round_robin, a replica that drains leaves the rotation at once.
	_ "google.golang.org/grpc/health"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// Session is the broker's session message (access token, expiry, refresh
// token for caller custody, session id for broker custody, session token
// for KindSessionToken, principal, site and its URL).
type Session = pb.Session

// What a session carries: REST API tokens (the default), or a ShotGrid
// session token for clients of /api3/json (shotgun_api3, Toolkit), which the
// caller alone holds and which carries no lifetime.
const (
	KindREST         = pb.CredentialKind_CREDENTIAL_KIND_REST
	KindSessionToken = pb.CredentialKind_CREDENTIAL_KIND_SESSION_TOKEN
)

// Option configures Dial.
type Option func(*dialConfig)

type dialConfig struct {
	caFile, certFile, keyFile string
	serverName                string
	token                     string
	site                      string
	insecure                  bool
	timeout                   time.Duration
	extra                     []grpc.DialOption
}

// WithInsecure allows a plaintext connection to a broker on another machine
// (without it, Dial uses TLS for any address that is not loopback). A
// service token is still never sent over such a connection: Dial refuses.
func WithInsecure() Option { return func(c *dialConfig) { c.insecure = true } }

// WithTimeout sets the deadline of calls whose context has none (default
// DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *dialConfig) { c.timeout = d } }

// WithCA makes the connection TLS, trusting the PEM certificates in file
// instead of the system roots.
func WithCA(file string) Option { return func(c *dialConfig) { c.caFile = file } }

// WithClientCert makes the connection TLS and presents this certificate and
// key (PEM files) to the broker (mTLS).
func WithClientCert(certFile, keyFile string) Option {
	return func(c *dialConfig) { c.certFile, c.keyFile = certFile, keyFile }
}

// WithServerName overrides the name checked against the broker's certificate.
func WithServerName(name string) Option { return func(c *dialConfig) { c.serverName = name } }

// WithServiceToken sends `authorization: Bearer <token>` with every call.
// Dial only allows plaintext to a loopback address, so the token leaves the
// machine only over TLS.
func WithServiceToken(token string) Option { return func(c *dialConfig) { c.token = token } }

// WithSite names the broker-configured site used by every call of the
// client; empty (the default) means the broker's default site.
func WithSite(name string) Option { return func(c *dialConfig) { c.site = name } }

// WithDialOptions passes extra options to grpc.DialContext.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *dialConfig) { c.extra = append(c.extra, opts...) }
}

// Client calls the broker. It is safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	rpc     pb.CredentialBrokerClient
	site    string
	timeout time.Duration
}

// Dial connects to the broker at addr ("host:port"). Without WithCA or
// WithClientCert the connection is plaintext when addr is a loopback address
// (127.0.0.0/8, ::1, localhost) and TLS with the system roots otherwise,
// unless WithInsecure. Every call gets a deadline (WithTimeout) and the
// calls that are safe to repeat are retried on UNAVAILABLE (the shipped
// service config). Like grpc.DialContext it does not wait for the connection.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	cfg := dialConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	loopback := isLoopback(addr)
	if cfg.insecure && !loopback && cfg.token != "" && cfg.caFile == "" && cfg.certFile == "" {
		return nil, fmt.Errorf("credbroker: refusing to send the service token in the clear to %s: use TLS (WithCA)", addr)
	}
	dopts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(policyInterceptor(cfg.timeout))}
	if cfg.caFile != "" || cfg.certFile != "" || !(loopback || cfg.insecure) {
		tc, err := tlsConfig(&cfg)
		if err != nil {
			return nil, err
		}
		dopts = append(dopts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		dopts = append(dopts, grpc.WithInsecure())
	}
	if cfg.token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer(cfg.token)))
	}
	dopts = append(dopts, cfg.extra...)
	conn, err := grpc.DialContext(ctx, addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("credbroker: dial %s: %w", addr, err)
	}
	return &Client{conn: conn, rpc: pb.NewCredentialBrokerClient(conn), site: cfg.site, timeout: cfg.timeout}, nil
}

func tlsConfig(cfg *dialConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.serverName}
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, fmt.Errorf("credbroker: CA bundle: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("credbroker: no PEM certificate in %s", cfg.caFile)
		}
	}
	if cfg.certFile != "" || cfg.keyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return nil, fmt.Errorf("credbroker: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// isLoopback reports whether addr ("host:port", "dns:///host:port",
// "unix:path") names this machine.
func isLoopback(addr string) bool {
	if strings.HasPrefix(addr, "unix:") || strings.HasPrefix(addr, "unix-abstract:") {
		return true
	}
	for _, scheme := range []string{"dns:///", "dns:", "ipv4:", "ipv6:", "passthrough:///"} {
		if strings.HasPrefix(addr, scheme) {
			addr = addr[len(scheme):]
			break
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bearer is the per-call service token. RequireTransportSecurity is false so
// that it also works over plaintext loopback connections (tests, a sidecar);
// Dial never sends it over a plaintext connection to another machine.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Stub returns the generated client, for calls this package does not wrap.
// Its errors are plain gRPC status errors; AsBrokerError converts them.
func (c *Client) Stub() pb.CredentialBrokerClient { return c.rpc }

// ForSite returns a client sharing the connection that calls the named site.
func (c *Client) ForSite(name string) *Client {
	cc := *c
	cc.site = name
	return &cc
}

// AsBrokerError converts an error from the generated stub into a
// *BrokerError when it carries a gRPC status.
func AsBrokerError(err error) error { return fromRPC(err) }

// Challenge is what a CodeProvider is told about the pending two-factor step.
type Challenge struct {
	ID           string
	ExpireTime   time.Time
	AttemptsLeft int32
}

// CodeProvider returns the person's two-factor code (TOTP digits or a backup
// code). previous is nil on the first ask and the INVALID_SECOND_FACTOR error
// when the last code was wrong. An error from it ends the login.
type CodeProvider func(ctx context.Context, ch Challenge, previous *BrokerError) (string, error)

// ErrSecondFactorRequired is returned by Login when the site asks for a code
// and no CodeProvider was given.
var ErrSecondFactorRequired = errors.New("credbroker: the site requires a second-factor code")

// LoginOption configures Login.
type LoginOption func(*pb.BeginLoginRequest)

// WithCode sends the person's code with BeginLogin: one call, never retried
// (a repeat would count twice against the person's failure budget).
func WithCode(code string) LoginOption {
	return func(r *pb.BeginLoginRequest) { r.SecondFactorCode = code }
}

// WithCustody chooses who keeps the refresh token (default the caller;
// TOKEN_CUSTODY_BROKER answers a SessionId instead).
func WithCustody(custody pb.TokenCustody) LoginOption {
	return func(r *pb.BeginLoginRequest) { r.Custody = custody }
}

// WithKind asks for a session of this kind (default KindREST).
// KindSessionToken answers Session.SessionToken, with caller custody only.
func WithKind(kind pb.CredentialKind) LoginOption {
	return func(r *pb.BeginLoginRequest) { r.Kind = kind }
}

// WithClientInfo passes the end user's address and user agent, as a web
// backend saw them.
func WithClientInfo(address, userAgent string) LoginOption {
	return func(r *pb.BeginLoginRequest) { r.Client = &pb.ClientInfo{Address: address, UserAgent: userAgent} }
}

// Login logs a person in (caller custody unless WithCustody): BeginLogin,
// then, when the site asks for a second factor, codes and SubmitSecondFactor,
// asking again after a wrong code while the challenge has attempts left.
// Failures are *BrokerError (e.g. INVALID_CREDENTIALS, INVALID_SECOND_FACTOR
// with AttemptsLeft 0, TOO_MANY_ATTEMPTS).
func (c *Client) Login(ctx context.Context, username, password string, codes CodeProvider, opts ...LoginOption) (*Session, error) {
	req := &pb.BeginLoginRequest{
		Site: c.site, Username: username, Password: password,
		Custody: pb.TokenCustody_TOKEN_CUSTODY_CALLER,
	}
	for _, o := range opts {
		o(req)
	}
	res, err := c.rpc.BeginLogin(ctx, req)
	if err != nil {
		return nil, fromRPC(err)
	}
	if s := res.GetSession(); s != nil {
		return s, nil
	}
	pc := res.GetChallenge()
	if pc == nil {
		return nil, errors.New("credbroker: BeginLogin answered neither a session nor a challenge")
	}
	if codes == nil {
		return nil, ErrSecondFactorRequired
	}
	ch := Challenge{ID: pc.GetChallengeId(), ExpireTime: timeOf(pc.GetExpireTime()), AttemptsLeft: pc.GetAttemptsLeft()}
	var previous *BrokerError
	for {
		code, err := codes(ctx, ch, previous)
		if err != nil {
			return nil, err
		}
		res, err := c.rpc.SubmitSecondFactor(ctx, &pb.SubmitSecondFactorRequest{ChallengeId: ch.ID, Code: code, Client: req.Client})
		if err == nil {
			if s := res.GetSession(); s != nil {
				return s, nil
			}
			return nil, errors.New("credbroker: SubmitSecondFactor answered no session")
		}
		err = fromRPC(err)
		var be *BrokerError
		if !errors.As(err, &be) || be.Reason != ReasonInvalidSecondFactor || be.AttemptsLeft <= 0 {
			return nil, err
		}
		ch.AttemptsLeft, previous = be.AttemptsLeft, be
	}
}

// Refresh exchanges a refresh token for a new session. The token sent is
// spent: keep the returned RefreshToken.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Session, error) {
	s, err := c.rpc.RefreshSession(ctx, &pb.RefreshSessionRequest{
		Site: c.site, Session: &pb.RefreshSessionRequest_RefreshToken{RefreshToken: refreshToken},
	})
	return s, fromRPC(err)
}

// Revoke spends a refresh token at the site. The current access token stays
// valid until it expires.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error {
	_, err := c.rpc.RevokeSession(ctx, &pb.RevokeSessionRequest{
		Site: c.site, Session: &pb.RevokeSessionRequest_RefreshToken{RefreshToken: refreshToken},
	})
	return fromRPC(err)
}

// ScriptOption configures ScriptSession.
type ScriptOption func(*pb.IssueScriptSessionRequest)

// WithScriptKind asks for a script session of this kind (default KindREST);
// KindSessionToken answers Session.SessionToken, without sudoAs: its holder
// acts as anyone the script may, so a keyring script needs a policy granting
// the caller sudo_as "*".
func WithScriptKind(kind pb.CredentialKind) ScriptOption {
	return func(r *pb.IssueScriptSessionRequest) { r.Kind = kind }
}

// WithRejectedToken reports a token of this script that the site refused:
// if it is the one the broker holds, the broker drops it and fetches a fresh
// one (once, however many callers report it); otherwise it answers the one
// it holds.
func WithRejectedToken(token string) ScriptOption {
	return func(r *pb.IssueScriptSessionRequest) { r.RejectedToken = token }
}

// ScriptSession issues a script-key session (no refresh token: ask again).
// sudoAs is optional. An empty key asks the broker's keyring (for callers
// the broker's policy allows that script: docs/services.md).
func (c *Client) ScriptSession(ctx context.Context, script, key, sudoAs string, opts ...ScriptOption) (*Session, error) {
	req := &pb.IssueScriptSessionRequest{Site: c.site, ScriptName: script, ScriptKey: key, SudoAsLogin: sudoAs}
	for _, o := range opts {
		o(req)
	}
	s, err := c.rpc.IssueScriptSession(ctx, req)
	return s, fromRPC(err)
}

// GetAccessToken returns the access token of a held session (broker
// custody), valid for at least minValidity (the broker honours up to 300 s),
// refreshed at the site first when needed. SESSION_NOT_FOUND and
// REFRESH_TOKEN_INVALID mean the person logs in again.
func (c *Client) GetAccessToken(ctx context.Context, sessionID string, minValidity time.Duration) (*pb.AccessToken, error) {
	t, err := c.rpc.GetAccessToken(ctx, &pb.GetAccessTokenRequest{
		SessionId: sessionID, MinValidity: durationpb.New(minValidity),
	})
	return t, fromRPC(err)
}

// RevokeSession ends a held session: the broker spends its refresh token at
// the site and deletes it. Idempotent (an unknown id is fine).
func (c *Client) RevokeSession(ctx context.Context, sessionID string) error {
	_, err := c.rpc.RevokeSession(ctx, &pb.RevokeSessionRequest{
		Session: &pb.RevokeSessionRequest_SessionId{SessionId: sessionID},
	})
	return fromRPC(err)
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
