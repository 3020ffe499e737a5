// HeldSessionTokenSource: the token source of a person's session kept by the
// broker (broker custody). The caller holds only the session id; the broker
// keeps the refresh token and answers GetAccessToken with a token valid for
// at least the asked validity, refreshing at the site when needed.
package credbroker

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"
)

// MaxMinValidity is the longest validity the broker honours in
// GetAccessToken (site tokens live about 600 s).
const MaxMinValidity = 300 * time.Second

// HeldSessionTokenSource hands out the access token of a held session,
// caching it while it stays valid for more than the margin (the min
// validity) and asking GetAccessToken otherwise. Safe for concurrent use;
// concurrent callers share one call and no lock is held across it.
type HeldSessionTokenSource struct {
	c         *Client
	sessionID string
	sf        *singleFlight
}

// HeldSessionTokenSource makes a token source for the session id a
// broker-custody login answered (WithCustody(TOKEN_CUSTODY_BROKER)).
// WithMargin sets the min validity (default DefaultMargin), capped at
// MaxMinValidity: above the broker's cap every cached token would look stale.
// Nothing is asked until the first Token.
func (c *Client) HeldSessionTokenSource(sessionID string, opts ...TokenSourceOption) *HeldSessionTokenSource {
	cfg := newTokenConfig(opts)
	if cfg.margin > MaxMinValidity {
		cfg.margin = MaxMinValidity
	}
	sf := &singleFlight{cfg: cfg}
	sf.fetch = func(ctx context.Context, _ *Session, _ string) (*Session, error) {
		if sessionID == "" {
			return nil, errors.New("credbroker: a held session needs its session id")
		}
		t, err := c.GetAccessToken(ctx, sessionID, cfg.margin)
		if err != nil {
			return nil, err
		}
		return &Session{AccessToken: t.GetAccessToken(), TokenType: t.GetTokenType(),
			ExpireTime: t.GetExpireTime(), SessionId: sessionID}, nil
	}
	return &HeldSessionTokenSource{c: c, sessionID: sessionID, sf: sf}
}

// Token returns an access token valid for at least the min validity. A
// *BrokerError with ReasonSessionNotFound or ReasonRefreshTokenInvalid means
// the session is gone: the person logs in again. A caller whose ctx ends
// stops waiting; the call goes on for the others.
func (ts *HeldSessionTokenSource) Token(ctx context.Context) (string, error) {
	s, err := ts.sf.token(ctx)
	if err != nil {
		return "", err
	}
	return s.GetAccessToken(), nil
}

// Invalidate drops the cached token (e.g. after the site answered 401 to it):
// the next Token asks the broker.
func (ts *HeldSessionTokenSource) Invalidate() { ts.sf.invalidate() }

// Revoke ends the session at the broker (its refresh token is spent at the
// site). Idempotent; later Tokens fail with ReasonSessionNotFound.
func (ts *HeldSessionTokenSource) Revoke(ctx context.Context) error {
	if err := ts.c.RevokeSession(ctx, ts.sessionID); err != nil {
		return err
	}
	ts.sf.invalidate()
	return nil
}

// SessionID returns the held session's id.
func (ts *HeldSessionTokenSource) SessionID() string { return ts.sessionID }

// OAuth2 returns the source as an oauth2.TokenSource (each Token call waits
// at most the client's timeout), for oauth2.NewClient or oauth2.Transport.
func (ts *HeldSessionTokenSource) OAuth2() oauth2.TokenSource {
	return oauth2Source{sf: ts.sf, timeout: ts.c.timeout}
}
