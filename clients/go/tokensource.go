// Token sources of the Go client: SessionTokenSource keeps a caller-custody
// session fresh with RefreshSession; ScriptTokenSource asks for a new script
// session, and ScriptSessionTokenSource for a script's ShotGrid session
// token; HeldSessionTokenSource (heldsession.go) asks GetAccessToken for a
// session the broker keeps. All are single flight: one call at a time goes to the broker, and
// no lock is held across it, so every waiting caller honours its own
// context. Invalidate(token) reports a token the site refused (a script
// source sends it as rejected_token). OAuth2() adapts the REST sources to
// golang.org/x/oauth2's TokenSource, for oauth2.NewClient and oauth2.Transport.
package credbroker

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// DefaultMargin is how long a token returned by a token source stays valid
// at least.
const DefaultMargin = 60 * time.Second

// TokenSourceOption configures a token source.
type TokenSourceOption func(*tokenConfig)

type tokenConfig struct {
	margin time.Duration
	now    func() time.Time
}

// WithMargin sets how long a returned token stays valid at least (default
// DefaultMargin). A site whose tokens live shorter than the margin gets a
// call for every Token.
func WithMargin(d time.Duration) TokenSourceOption { return func(c *tokenConfig) { c.margin = d } }

func newTokenConfig(opts []TokenSourceOption) tokenConfig {
	cfg := tokenConfig{margin: DefaultMargin, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func fresh(s *Session, cfg tokenConfig) bool {
	return s != nil && s.GetAccessToken() != "" && s.GetExpireTime() != nil &&
		s.GetExpireTime().AsTime().Sub(cfg.now()) >= cfg.margin
}

// freshSessionToken: session tokens carry no lifetime; one is good until the
// site refuses it (Invalidate).
func freshSessionToken(s *Session, _ tokenConfig) bool { return s.GetSessionToken() != "" }

// flight is one call to the broker that any number of callers wait for.
type flight struct {
	done chan struct{}
	s    *Session
	err  error
}

// singleFlight holds the current session and the call under way, if any.
// The call runs on its own context (the client's deadline applies), not on
// the first caller's: a caller that gives up does not fail the others.
type singleFlight struct {
	cfg tokenConfig
	// fetch gets a new session; rejected is the token the site refused, when
	// that is why (Invalidate), else "".
	fetch func(ctx context.Context, current *Session, rejected string) (*Session, error)
	// isFresh and tokenOf default to REST access tokens (fresh, AccessToken).
	isFresh func(*Session, tokenConfig) bool
	tokenOf func(*Session) string
	mu      sync.Mutex
	s       *Session
	flying  *flight
	// Counts invalidations: a call that started before one answers its
	// callers but is not cached (its token may be the one invalidated).
	gen uint64
	// The token the site refused, until a fetch replaces it.
	rejected string
}

func (sf *singleFlight) usable(s *Session) bool {
	if s == nil || sf.tokenIn(s) == sf.rejected {
		return false
	}
	if sf.isFresh != nil {
		return sf.isFresh(s, sf.cfg)
	}
	return fresh(s, sf.cfg)
}

func (sf *singleFlight) tokenIn(s *Session) string {
	if sf.tokenOf != nil {
		return sf.tokenOf(s)
	}
	return s.GetAccessToken()
}

func (sf *singleFlight) token(ctx context.Context) (*Session, error) {
	sf.mu.Lock()
	if sf.usable(sf.s) {
		s := sf.s
		sf.mu.Unlock()
		return s, nil
	}
	f := sf.flying
	if f == nil {
		f = &flight{done: make(chan struct{})}
		sf.flying = f
		current, gen, rejected := sf.s, sf.gen, sf.rejected
		go func() {
			s, err := sf.fetch(context.Background(), current, rejected)
			sf.mu.Lock()
			if err == nil && gen == sf.gen {
				sf.s = s
				sf.rejected = ""
			}
			sf.flying = nil
			sf.mu.Unlock()
			f.s, f.err = s, err
			close(f.done)
		}()
	}
	sf.mu.Unlock()
	select {
	case <-f.done:
		return f.s, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invalidate drops the cached session's token: the next token() fetches.
func (sf *singleFlight) invalidate() {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	sf.s = nil
	sf.gen++
}

// reject marks token as refused by the site if it is still the current one
// (so that many requests failing with one token cause one fetch): the next
// token() fetches, passing it on as rejected. The session stays (a caller
// custody source still needs its refresh token); a fetch already under way
// is not cached, since it may answer the refused token.
func (sf *singleFlight) reject(token string) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.s == nil || token == "" || sf.tokenIn(sf.s) != token {
		return
	}
	sf.rejected = token
	sf.gen++
}

func (sf *singleFlight) current() *Session {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.s
}

// oauth2Source adapts a token source to oauth2.TokenSource. The Expiry it
// reports is the access token's minus the margin, so that
// oauth2.ReuseTokenSource asks again when this source would renew.
type oauth2Source struct {
	sf      *singleFlight
	timeout time.Duration
}

func (o oauth2Source) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	s, err := o.sf.token(ctx)
	if err != nil {
		return nil, err
	}
	tok := &oauth2.Token{AccessToken: s.GetAccessToken(), TokenType: s.GetTokenType()}
	if tok.TokenType == "" {
		tok.TokenType = "Bearer"
	}
	if s.GetExpireTime() != nil {
		tok.Expiry = s.GetExpireTime().AsTime().Add(-o.sf.cfg.margin)
	}
	return tok, nil
}

// SessionTokenSource hands out the access token of a person's session (caller
// custody), refreshing it first when it expires within the margin. The
// rotated refresh token replaces the spent one. Safe for concurrent use;
// concurrent callers share one RefreshSession.
type SessionTokenSource struct {
	c  *Client
	sf *singleFlight
}

// SessionTokenSource starts a token source from a session Login returned.
func (c *Client) SessionTokenSource(s *Session, opts ...TokenSourceOption) *SessionTokenSource {
	sf := &singleFlight{cfg: newTokenConfig(opts), s: s}
	sf.fetch = func(ctx context.Context, current *Session, _ string) (*Session, error) {
		if current.GetRefreshToken() == "" {
			return nil, errors.New("credbroker: the session has no refresh token")
		}
		s, err := c.Refresh(ctx, current.GetRefreshToken())
		if err != nil {
			return nil, err
		}
		// RefreshSession does not say whose tokens they are; keep what Login said.
		if p := s.GetPrincipal(); p.GetUserLogin() == "" && p.GetScriptName() == "" {
			s.Principal = current.GetPrincipal()
		}
		return s, nil
	}
	return &SessionTokenSource{c: c, sf: sf}
}

// Token returns an access token valid for at least the margin. After a
// failed refresh (e.g. REFRESH_TOKEN_INVALID: the person logs in again) the
// source keeps the last session it had. A caller whose ctx ends stops
// waiting; the refresh goes on for the others.
func (ts *SessionTokenSource) Token(ctx context.Context) (string, error) {
	s, err := ts.sf.token(ctx)
	if err != nil {
		return "", err
	}
	return s.GetAccessToken(), nil
}

// OAuth2 returns the source as an oauth2.TokenSource (each Token call waits
// at most the client's timeout), for oauth2.NewClient or oauth2.Transport.
func (ts *SessionTokenSource) OAuth2() oauth2.TokenSource {
	return oauth2Source{sf: ts.sf, timeout: ts.c.timeout}
}

// Invalidate reports an access token the site refused (HTTP 401): if it is
// still the current one, the next Token refreshes the session.
func (ts *SessionTokenSource) Invalidate(token string) { ts.sf.reject(token) }

// RefreshToken returns the current (unspent) refresh token, e.g. to store it
// or to Revoke it.
func (ts *SessionTokenSource) RefreshToken() string { return ts.sf.current().GetRefreshToken() }

// Session returns the current session.
func (ts *SessionTokenSource) Session() *Session { return ts.sf.current() }

// ScriptTokenSource hands out a script session's access token, asking the
// broker for a new session when it expires within the margin. Safe for
// concurrent use; concurrent callers share one IssueScriptSession.
type ScriptTokenSource struct {
	c  *Client
	sf *singleFlight
}

// ScriptTokenSource makes a token source for a script (sudoAs optional; an
// empty key asks the broker's keyring). Nothing is asked until the first Token.
func (c *Client) ScriptTokenSource(script, key, sudoAs string, opts ...TokenSourceOption) *ScriptTokenSource {
	sf := &singleFlight{cfg: newTokenConfig(opts)}
	sf.fetch = c.scriptFetch(script, key, sudoAs, KindREST)
	return &ScriptTokenSource{c: c, sf: sf}
}

// scriptFetch asks for a script session of this kind, reporting the token
// the site refused, if any, as rejected_token.
func (c *Client) scriptFetch(script, key, sudoAs string, kind pb.CredentialKind) func(context.Context, *Session, string) (*Session, error) {
	return func(ctx context.Context, _ *Session, rejected string) (*Session, error) {
		return c.ScriptSession(ctx, script, key, sudoAs, WithScriptKind(kind), WithRejectedToken(rejected))
	}
}

// Invalidate reports an access token the site refused (HTTP 401): if it is
// still the current one, the next Token asks the broker with it as
// rejected_token, so that the broker's shared cache drops it too.
func (ts *ScriptTokenSource) Invalidate(token string) { ts.sf.reject(token) }

// Token returns an access token valid for at least the margin.
func (ts *ScriptTokenSource) Token(ctx context.Context) (string, error) {
	s, err := ts.sf.token(ctx)
	if err != nil {
		return "", err
	}
	return s.GetAccessToken(), nil
}

// OAuth2 returns the source as an oauth2.TokenSource, for oauth2.NewClient:
//
//	http := oauth2.NewClient(ctx, c.ScriptTokenSource("ingest-bot", "", "").OAuth2())
func (ts *ScriptTokenSource) OAuth2() oauth2.TokenSource {
	return oauth2Source{sf: ts.sf, timeout: ts.c.timeout}
}

// ScriptSessionTokenSource hands out a script's ShotGrid session token (for
// clients of /api3/json), from the broker's shared cache. Session tokens
// carry no lifetime: the token is kept until Invalidate reports it refused
// (fault 102); the next SessionToken then asks the broker with it as
// rejected_token, and the broker fetches one fresh token for every caller
// that reports it. Safe for concurrent use.
type ScriptSessionTokenSource struct {
	sf *singleFlight
}

// ScriptSessionTokenSource makes a session-token source for a script (an
// empty key asks the broker's keyring; the policy must then grant the caller
// sudo_as "*", since the token lets its holder act as anyone the script may,
// each /api3/json call naming its own sudo_as_login). Nothing is asked until
// the first SessionToken.
func (c *Client) ScriptSessionTokenSource(script, key string) *ScriptSessionTokenSource {
	sf := &singleFlight{cfg: newTokenConfig(nil), isFresh: freshSessionToken,
		tokenOf: (*Session).GetSessionToken}
	sf.fetch = c.scriptFetch(script, key, "", KindSessionToken)
	return &ScriptSessionTokenSource{sf: sf}
}

// SessionToken returns the script's session token. A caller whose ctx ends
// stops waiting; the call goes on for the others.
func (ts *ScriptSessionTokenSource) SessionToken(ctx context.Context) (string, error) {
	s, err := ts.sf.token(ctx)
	if err != nil {
		return "", err
	}
	return s.GetSessionToken(), nil
}

// Invalidate reports a session token the site refused: if it is still the
// current one, the next SessionToken asks for a fresh one.
func (ts *ScriptSessionTokenSource) Invalidate(token string) { ts.sf.reject(token) }

// Session returns the current session (SiteUrl says where the site is), or
// nil before the first SessionToken.
func (ts *ScriptSessionTokenSource) Session() *Session { return ts.sf.current() }
