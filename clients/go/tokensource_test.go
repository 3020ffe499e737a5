// Tests of the token sources against an in-process gRPC server: waiting
// callers honour their own context while one call is under way, and the
// oauth2.TokenSource adapter works with oauth2.NewClient.
package credbroker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestWaitingCallersHonourTheirContext(t *testing.T) {
	f := &flakyBroker{delay: 600 * time.Millisecond}
	c := startFlaky(t, f)
	ts := c.ScriptTokenSource("ingest-bot", "", "")
	first := make(chan error, 1)
	go func() {
		_, err := ts.Token(context.Background())
		first <- err
	}()
	time.Sleep(50 * time.Millisecond) // the first call is at the broker
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ts.Token(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("waiting caller: %v after %v", err, time.Since(start))
	}
	if err := <-first; err != nil {
		t.Fatalf("first caller: %v", err)
	}
	if got := f.attempts["IssueScriptSession"]; got != 1 {
		t.Fatalf("IssueScriptSession calls: %d, want 1", got)
	}
}

func TestOAuth2TokenSourceWithNewClient(t *testing.T) {
	f := &flakyBroker{}
	c := startFlaky(t, f)
	var seen []string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	defer site.Close()
	src := c.ScriptTokenSource("ingest-bot", "", "").OAuth2()
	hc := oauth2.NewClient(context.Background(), src)
	for i := 0; i < 2; i++ {
		resp, err := hc.Get(site.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(seen) != 2 || seen[0] != "Bearer tok" || seen[1] != "Bearer tok" {
		t.Fatalf("Authorization headers: %q", seen)
	}
	// oauth2.NewClient reuses a token until its Expiry (none here): one call.
	if got := f.attempts["IssueScriptSession"]; got != 1 {
		t.Fatalf("IssueScriptSession calls: %d, want 1", got)
	}
}

func TestOAuth2ExpiryLeavesTheMargin(t *testing.T) {
	expire := time.Now().Add(10 * time.Minute)
	sf := &singleFlight{cfg: newTokenConfig(nil), s: &Session{AccessToken: "a", ExpireTime: timestamppb.New(expire)}}
	tok, err := oauth2Source{sf: sf, timeout: time.Second}.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "a" || tok.TokenType != "Bearer" || tok.Expiry.Sub(expire.Add(-DefaultMargin)).Abs() > time.Millisecond {
		t.Fatalf("token %+v", tok)
	}
}
