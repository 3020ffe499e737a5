// Tests of HeldSessionTokenSource against the real broker and the fake site,
// whose tokens live 100 s: ten goroutines asking for 120 s of validity share
// one GetAccessToken and one site refresh; a 60 s source reuses its token
// until Invalidate; Revoke makes later Tokens fail with SESSION_NOT_FOUND; a
// session the site no longer refreshes answers REFRESH_TOKEN_INVALID, then
// SESSION_NOT_FOUND.
package credbroker

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

func TestHeldSessionTokenSourceAgainstTheRealBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site := startSite(t, "--two-factor", "--token-lifetime", "100")
	var getAccessToken int64
	count := func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == "/credbroker.v1.CredentialBroker/GetAccessToken" {
			atomic.AddInt64(&getAccessToken, 1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	c := dial(t, startBroker(t, site, ""), WithDialOptions(grpc.WithChainUnaryInterceptor(count)))
	login := func(user, secret string) string {
		s, err := c.Login(ctx, user, user+"-password-1", nil,
			WithCode(totp(secret, time.Now())), WithCustody(pb.TokenCustody_TOKEN_CUSTODY_BROKER))
		if err != nil || len(s.GetSessionId()) != 64 || s.GetRefreshToken() != "" {
			t.Fatalf("broker-custody login of %s: session id of %d characters, refresh token present %v, %v",
				user, len(s.GetSessionId()), s.GetRefreshToken() != "", err)
		}
		return s.GetSessionId()
	}
	before := requests(t, site)["refresh_token"]

	// 120 s wanted, 100 s lived: the broker refreshes, once for ten callers.
	// The slow site keeps the call in flight while they all arrive.
	siteCall(t, "POST", site+"/_fake/faults", "", `{"latency_ms":1000}`)
	refreshing := c.HeldSessionTokenSource(login("alice", "JBSWY3DPEHPK3PXP"), WithMargin(120*time.Second))
	tokens := make([]string, 10)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func(i int) { defer wg.Done(); tokens[i], errs[i] = refreshing.Token(ctx) }(i)
	}
	wg.Wait()
	siteCall(t, "POST", site+"/_fake/faults", "", `{"latency_ms":0}`)
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("Token %d: %v (same as the first: %v)", i, errs[i], tokens[i] == tokens[0])
		}
	}
	if got := atomic.LoadInt64(&getAccessToken); got != 1 {
		t.Fatalf("GetAccessToken calls: %d, want 1", got)
	}
	if got := requests(t, site)["refresh_token"] - before; got != 1 {
		t.Fatalf("refresh grants at the site: %d, want 1", got)
	}
	if !bytes.Contains(siteCall(t, "GET", site+"/api/v1/entity/projects", tokens[0], ""), []byte("Feature Film A")) {
		t.Fatal("the held session's access token does not work at the site")
	}

	// 60 s wanted: the token is cached until Invalidate; the broker's token
	// still has about 100 s, so nothing is refreshed at the site.
	held := c.HeldSessionTokenSource(login("heidi", "NBSWSZDJFVZWKY3S"))
	first, err := held.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := held.Token(ctx); err != nil || again != first || atomic.LoadInt64(&getAccessToken) != 2 {
		t.Fatalf("cached token not reused: same %v, %v, %d GetAccessToken calls", again == first, err, getAccessToken)
	}
	held.Invalidate()
	if again, err := held.Token(ctx); err != nil || again != first || atomic.LoadInt64(&getAccessToken) != 3 {
		t.Fatalf("after Invalidate: same %v, %v, %d GetAccessToken calls (want 3)", again == first, err, getAccessToken)
	}
	if got := requests(t, site)["refresh_token"] - before; got != 1 {
		t.Fatalf("refresh grants at the site: %d, want still 1", got)
	}

	// Revoke (twice: idempotent), then the session is gone.
	for i := 0; i < 2; i++ {
		if err := held.Revoke(ctx); err != nil {
			t.Fatalf("Revoke %d: %v", i+1, err)
		}
	}
	_, err = held.Token(ctx)
	wantReason(t, err, codes.NotFound, ReasonSessionNotFound)
	_, err = held.OAuth2().Token()
	wantReason(t, err, codes.NotFound, ReasonSessionNotFound)
	if got := atomic.LoadInt64(&getAccessToken); got != 5 {
		t.Fatalf("GetAccessToken calls: %d, want 5", got)
	}

	// The site's refresh tokens live 24 h: 25 h later the broker's refresh
	// is refused, and the session is deleted.
	gone := c.HeldSessionTokenSource(login("bob", "KRUGKIDCN5RCA43F"), WithMargin(120*time.Second))
	before = requests(t, site)["refresh_token"]
	siteCall(t, "POST", site+"/_fake/clock", "", `{"offset_seconds":90000}`)
	_, err = gone.Token(ctx)
	wantReason(t, err, codes.Unauthenticated, ReasonRefreshTokenInvalid)
	_, err = gone.Token(ctx)
	wantReason(t, err, codes.NotFound, ReasonSessionNotFound)
	if got := requests(t, site)["refresh_token"] - before; got != 1 {
		t.Fatalf("refresh grants at the site for the expired session: %d, want 1", got)
	}
}
