// Tests of the browser-approved login against the real broker and an SSO
// fake site (password logins refused): BeginBrowserLogin and
// CompleteBrowserLogin (pending, approved, used up, rejected), a wait longer
// than the client's timeout, and the BrowserLogin loop for REST tokens with
// caller and broker custody. The person's approval comes from the fake
// site's control API.
package credbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

type launcherRequest struct {
	ID        string `json:"id"`
	AppName   string `json:"app_name"`
	MachineID string `json:"machine_id"`
	State     string `json:"state"`
}

func launcherRequests(t *testing.T, site string) []launcherRequest {
	t.Helper()
	var list struct{ Requests []launcherRequest }
	if err := json.Unmarshal(siteCall(t, "GET", site+"/_fake/app_session_request", "", ""), &list); err != nil {
		t.Fatal(err)
	}
	return list.Requests
}

// decide answers the newest launcher request as the person would (the
// site's id stays inside the broker; the fake lists it).
func decide(t *testing.T, site, decision string) {
	t.Helper()
	all := launcherRequests(t, site)
	if len(all) == 0 {
		t.Fatal("no launcher request at the site")
	}
	siteCall(t, "POST", site+"/_fake/app_session_request/"+all[len(all)-1].ID, "", decision)
}

func startSSO(t *testing.T, opts ...Option) (string, *Client) {
	site := startSite(t, "--auth-mode", "sso")
	return site, dial(t, startBroker(t, site, "browser_login:\n  poll_interval_ms: 100\n"), opts...)
}

func TestBrowserLoginForASessionTokenOnAnSSOSite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site, c := startSSO(t)
	_, err := c.Login(ctx, "erin", "erin-password-1", nil)
	wantReason(t, err, codes.FailedPrecondition, ReasonSSORequired)

	started := time.Now()
	ch, err := c.BeginBrowserLogin(ctx, WithAppName("ingest-tool"), WithMachineID("ws-042"),
		WithBrowserKind(KindSessionToken))
	if err != nil {
		t.Fatal(err)
	}
	at := launcherRequests(t, site)
	if len(at) != 1 || ch.GetApprovalUrl() != site+"/app_session_request/"+at[0].ID ||
		ch.GetRequestId() == at[0].ID || at[0].AppName != "ingest-tool" || at[0].MachineID != "ws-042" {
		t.Fatalf("challenge %q for the site's requests %+v", ch.GetApprovalUrl(), at)
	}
	if left := ch.GetExpireTime().AsTime().Sub(started); left < 175*time.Second || left > 185*time.Second {
		t.Fatalf("the request expires %v after the start, want 180 s", left)
	}

	_, err = c.CompleteBrowserLogin(ctx, ch.GetRequestId(), 0)
	if be := wantReason(t, err, codes.FailedPrecondition, ReasonApprovalPending); be.RetryAfter <= 0 {
		t.Fatalf("APPROVAL_PENDING without retry_after: %v", be)
	}
	decide(t, site, `{"approve_as":"erin"}`)
	s, err := c.CompleteBrowserLogin(ctx, ch.GetRequestId(), DefaultBrowserWait)
	if err != nil || s.GetSessionToken() == "" || s.GetAccessToken() != "" ||
		s.GetPrincipal().GetUserLogin() != "erin" || s.GetSiteUrl() != site {
		t.Fatalf("approved session: principal %v, %v", s.GetPrincipal(), err)
	}
	if code := readProjects(t, site, s.GetSessionToken()); code != 0 {
		t.Fatalf("the approved session token: fault %d", code)
	}
	_, err = c.CompleteBrowserLogin(ctx, ch.GetRequestId(), 0)
	wantReason(t, err, codes.FailedPrecondition, ReasonChallengeNotFound)

	// A session token is the caller's to hold; the broker waits at most a minute.
	_, err = c.BeginBrowserLogin(ctx, WithBrowserKind(KindSessionToken),
		WithBrowserCustody(pb.TokenCustody_TOKEN_CUSTODY_BROKER))
	wantReason(t, err, codes.InvalidArgument, ReasonInvalidRequest)
	_, err = c.CompleteBrowserLogin(ctx, ch.GetRequestId(), MaxBrowserWait+time.Second)
	wantReason(t, err, codes.InvalidArgument, ReasonInvalidRequest)
	if n := len(launcherRequests(t, site)); n != 1 {
		t.Fatalf("launcher requests at the site: %d, want 1", n)
	}
}

func TestAWaitLongerThanTheClientsTimeoutIsNotCutShort(t *testing.T) {
	_, c := startSSO(t, WithTimeout(time.Second))
	ch, err := c.BeginBrowserLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	begun := time.Now()
	_, err = c.CompleteBrowserLogin(context.Background(), ch.GetRequestId(), 2*time.Second)
	wantReason(t, err, codes.FailedPrecondition, ReasonApprovalPending)
	if waited := time.Since(begun); waited < 1900*time.Millisecond {
		t.Fatalf("answered after %v, want the 2 s wait", waited)
	}
}

func TestBrowserLoginAnswersRESTTokensWithEitherCustody(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site, c := startSSO(t)
	var shown []string
	approve := func(ch *BrowserLoginChallenge) error {
		shown = append(shown, ch.GetApprovalUrl())
		decide(t, site, `{"approve_as":"frank"}`)
		return nil
	}
	s, err := c.BrowserLogin(ctx, approve)
	if err != nil || len(shown) != 1 || s.GetAccessToken() == "" || s.GetRefreshToken() == "" ||
		s.GetPrincipal().GetUserLogin() != "frank" {
		t.Fatalf("shown %q; session principal %v, %v", shown, s.GetPrincipal(), err)
	}
	if !bytes.Contains(siteCall(t, "GET", site+"/api/v1/entity/projects", s.GetAccessToken(), ""), []byte("Commercial B")) {
		t.Fatal("the access token does not work at the site")
	}
	held, err := c.BrowserLogin(ctx, approve, WithBrowserCustody(pb.TokenCustody_TOKEN_CUSTODY_BROKER))
	if err != nil || len(held.GetSessionId()) != 64 || held.GetRefreshToken() != "" {
		t.Fatalf("held session: %v", err)
	}
	if _, err := c.HeldSessionTokenSource(held.GetSessionId()).Token(ctx); err != nil {
		t.Fatal(err)
	}

	_, err = c.BrowserLogin(ctx, func(*BrowserLoginChallenge) error {
		decide(t, site, `{"reject":true}`)
		return nil
	})
	wantReason(t, err, codes.FailedPrecondition, ReasonChallengeNotFound)
	if got := requests(t, site); got["session_token"] != 2 || got["password"] != 0 {
		t.Fatalf("grants at the site: %v, want 2 session_token and no password", got)
	}
}
