// Token sources of the Go client: SessionTokenSource keeps a caller-custody
// session fresh with RefreshSession; ScriptTokenSource asks for a new script
// session. Both are single flight: one call at a time goes to the broker.
package credbroker

import (
	"context"
	"errors"
	"sync"
	"time"
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

// SessionTokenSource hands out the access token of a person's session (caller
// custody), refreshing it first when it expires within the margin. The
// rotated refresh token replaces the spent one. Safe for concurrent use;
// concurrent callers share one RefreshSession.
type SessionTokenSource struct {
	c   *Client
	cfg tokenConfig
	mu  sync.Mutex
	s   *Session
}

// SessionTokenSource starts a token source from a session Login returned.
func (c *Client) SessionTokenSource(s *Session, opts ...TokenSourceOption) *SessionTokenSource {
	return &SessionTokenSource{c: c, cfg: newTokenConfig(opts), s: s}
}

// Token returns an access token valid for at least the margin. After a
// failed refresh (e.g. REFRESH_TOKEN_INVALID: the person logs in again) the
// source keeps the last session it had.
func (ts *SessionTokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if fresh(ts.s, ts.cfg) {
		return ts.s.GetAccessToken(), nil
	}
	if ts.s.GetRefreshToken() == "" {
		return "", errors.New("credbroker: the session has no refresh token")
	}
	s, err := ts.c.Refresh(ctx, ts.s.GetRefreshToken())
	if err != nil {
		return "", err
	}
	// RefreshSession does not say whose tokens they are; keep what Login said.
	if p := s.GetPrincipal(); p.GetUserLogin() == "" && p.GetScriptName() == "" {
		s.Principal = ts.s.GetPrincipal()
	}
	ts.s = s
	return s.GetAccessToken(), nil
}

// RefreshToken returns the current (unspent) refresh token, e.g. to store it
// or to Revoke it.
func (ts *SessionTokenSource) RefreshToken() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.s.GetRefreshToken()
}

// Session returns the current session.
func (ts *SessionTokenSource) Session() *Session {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.s
}

// ScriptTokenSource hands out a script session's access token, asking the
// broker for a new session when it expires within the margin. Safe for
// concurrent use; concurrent callers share one IssueScriptSession.
type ScriptTokenSource struct {
	c                   *Client
	cfg                 tokenConfig
	script, key, sudoAs string
	mu                  sync.Mutex
	s                   *Session
}

// ScriptTokenSource makes a token source for a script (sudoAs optional).
// Nothing is asked until the first Token.
func (c *Client) ScriptTokenSource(script, key, sudoAs string, opts ...TokenSourceOption) *ScriptTokenSource {
	return &ScriptTokenSource{c: c, cfg: newTokenConfig(opts), script: script, key: key, sudoAs: sudoAs}
}

// Token returns an access token valid for at least the margin.
func (ts *ScriptTokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if fresh(ts.s, ts.cfg) {
		return ts.s.GetAccessToken(), nil
	}
	s, err := ts.c.ScriptSession(ctx, ts.script, ts.key, ts.sudoAs)
	if err != nil {
		return "", err
	}
	ts.s = s
	return s.GetAccessToken(), nil
}
