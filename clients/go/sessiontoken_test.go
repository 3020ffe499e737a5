// Tests of session tokens and rejected_token against the real broker and the
// fake site: a script's session token from the keyring works at /api3/json
// and, once the site refuses it, Invalidate gets one fresh token however many
// callers report it; ScriptTokenSource.Invalidate sends rejected_token for
// REST tokens; a person's 2FA login answers a session token; and
// ExchangeSessionToken turns a session token into REST tokens. Exact reasons
// and exact counts at the site.
package credbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// keyringConfig is broker YAML for a keyring with the fake site's script
// keys and a policy letting anonymous callers (these tests send no
// credential) call every method and use ingest-bot without a key, session
// tokens included.
func keyringConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, "ingest-bot"), []byte("ingest-bot-key-0001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// sudo_as "*": a script's session token lets its holder act as anyone
	// the script may.
	rules := "callers:\n  - identity: anonymous\n    methods: [\"*\"]\n    scripts: [ingest-bot]\n    sudo_as: [\"*\"]\n"
	if err := os.WriteFile(policy, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("keyring_dir: %s\npolicy_file: %s\n", keys, policy)
}

// api3Calls returns the site's /api3/json calls per "method.auth", without
// the unauthenticated info calls.
func api3Calls(t *testing.T, siteURL string) map[string]int {
	t.Helper()
	var stats struct {
		API3 struct {
			ByMethodAndAuth map[string]int `json:"by_method_and_auth"`
		} `json:"api3"`
	}
	if err := json.Unmarshal(siteCall(t, "GET", siteURL+"/_fake/stats", "", ""), &stats); err != nil {
		t.Fatal(err)
	}
	delete(stats.API3.ByMethodAndAuth, "info.none")
	return stats.API3.ByMethodAndAuth
}

func wantCalls(t *testing.T, siteURL string, want map[string]int) {
	t.Helper()
	if got := api3Calls(t, siteURL); !reflect.DeepEqual(got, want) {
		t.Fatalf("/api3/json calls at the site: %v, want %v", got, want)
	}
}

// readProjects reads the site's projects over /api3/json with a session
// token, as shotgun_api3 does; it answers the fault code (0: none).
func readProjects(t *testing.T, siteURL, sessionToken string) int {
	t.Helper()
	body := fmt.Sprintf(`{"method_name":"read","params":[{"session_token":%q,"reject_if_expired":true},`+
		`{"type":"Project","return_fields":["name"],"paging":{"entities_per_page":500,"current_page":1}}]}`, sessionToken)
	var answer struct {
		ErrorCode int `json:"error_code"`
		Results   struct {
			Entities []struct{ Name string } `json:"entities"`
		} `json:"results"`
	}
	if err := json.Unmarshal(siteCall(t, "POST", siteURL+"/api3/json", "", body), &answer); err != nil {
		t.Fatal(err)
	}
	if answer.ErrorCode == 0 && len(answer.Results.Entities) != 2 {
		t.Fatalf("projects read with a session token: %+v", answer.Results.Entities)
	}
	return answer.ErrorCode
}

func TestScriptSessionTokensAreRenewedThroughRejectedToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site := startSite(t)
	c := dial(t, startBroker(t, site, keyringConfig(t)))
	siteCall(t, "POST", site+"/_fake/settings", "", `{"session_token_lifetime":600}`)

	ts := c.ScriptSessionTokenSource("ingest-bot", "")
	refused, err := ts.SessionToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := ts.Session()
	if s.GetSiteUrl() != site || s.GetPrincipal().GetScriptName() != "ingest-bot" ||
		s.GetAccessToken() != "" || s.GetRefreshToken() != "" || s.GetExpireTime() != nil {
		t.Fatalf("session-token session: %v", s)
	}
	if again, err := ts.SessionToken(ctx); err != nil || again != refused {
		t.Fatalf("session token not kept: %v", err)
	}
	if code := readProjects(t, site, refused); code != 0 {
		t.Fatalf("the session token was refused at once: fault %d", code)
	}
	wantCalls(t, site, map[string]int{"get_session_token.script": 1, "read.session_token": 1})

	siteCall(t, "POST", site+"/_fake/clock", "", `{"offset_seconds":601}`)
	if code := readProjects(t, site, refused); code != 102 {
		t.Fatalf("an expired session token: fault %d, want 102", code)
	}
	ts.Invalidate("not-the-current-token") // ignored
	ts.Invalidate(refused)
	fresh, err := ts.SessionToken(ctx)
	if err != nil || fresh == refused || fresh == "" {
		t.Fatalf("after Invalidate: fresh token %v, %v", fresh != refused, err)
	}
	if code := readProjects(t, site, fresh); code != 0 {
		t.Fatalf("the fresh session token: fault %d", code)
	}
	// Eight late reporters of the refused token get the fresh one; the site
	// is not asked again.
	var wg sync.WaitGroup
	late := make([]*Session, 8)
	errs := make([]error, 8)
	for i := range late {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			late[i], errs[i] = c.ScriptSession(ctx, "ingest-bot", "", "",
				WithScriptKind(KindSessionToken), WithRejectedToken(refused))
		}(i)
	}
	wg.Wait()
	for i := range late {
		if errs[i] != nil || late[i].GetSessionToken() != fresh {
			t.Fatalf("late reporter %d: same token %v, %v", i, late[i].GetSessionToken() == fresh, errs[i])
		}
	}
	wantCalls(t, site, map[string]int{"get_session_token.script": 2, "read.session_token": 3})
	if got := requests(t, site)["client_credentials"]; got != 0 {
		t.Fatalf("client_credentials grants: %d, want 0", got)
	}
}

func TestScriptTokenSourceInvalidateSendsRejectedToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site := startSite(t)
	c := dial(t, startBroker(t, site, ""))
	ts := c.ScriptTokenSource("ingest-bot", "ingest-bot-key-0001", "")
	refused, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts.Invalidate("not-the-current-token")
	if again, err := ts.Token(ctx); err != nil || again != refused {
		t.Fatalf("a stranger's token invalidated the current one: %v", err)
	}
	ts.Invalidate(refused)
	fresh, err := ts.Token(ctx)
	if err != nil || fresh == refused {
		t.Fatalf("after Invalidate: fresh %v, %v", fresh != refused, err)
	}
	if got := requests(t, site)["client_credentials"]; got != 2 {
		t.Fatalf("client_credentials grants: %d, want 2", got)
	}
	// A caller still holding the refused token gets the broker's current one.
	s, err := c.ScriptSession(ctx, "ingest-bot", "ingest-bot-key-0001", "", WithRejectedToken(refused))
	if err != nil || s.GetAccessToken() != fresh {
		t.Fatalf("late reporter: same token %v, %v", s.GetAccessToken() == fresh, err)
	}
	if got := requests(t, site)["client_credentials"]; got != 2 {
		t.Fatalf("client_credentials grants: %d, want still 2", got)
	}
}

func TestAPersonsTwoFactorLoginAnswersASessionToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site := startSite(t, "--two-factor")
	c := dial(t, startBroker(t, site, ""))
	asked := 0
	s, err := c.Login(ctx, "carol", "carol-password-1", func(context.Context, Challenge, *BrokerError) (string, error) {
		asked++
		return totp("MNQXE33MFVZWKY3S", time.Now()), nil
	}, WithKind(KindSessionToken))
	if err != nil || asked != 1 || s.GetSessionToken() == "" || s.GetAccessToken() != "" ||
		s.GetPrincipal().GetUserLogin() != "carol" || s.GetSiteUrl() != site {
		t.Fatalf("asked %d times; session %v, %v", asked, s.GetPrincipal(), err)
	}
	if code := readProjects(t, site, s.GetSessionToken()); code != 0 {
		t.Fatalf("the person's session token: fault %d", code)
	}
	wantCalls(t, site, map[string]int{"get_session_token.user": 2, "read.session_token": 1})
	if got := requests(t, site)["password"]; got != 0 {
		t.Fatalf("password grants: %d, want 0", got)
	}
	_, err = c.Login(ctx, "carol", "carol-password-1", nil, WithKind(KindSessionToken),
		WithCustody(pb.TokenCustody_TOKEN_CUSTODY_BROKER))
	wantReason(t, err, codes.InvalidArgument, ReasonInvalidRequest)
}

func TestExchangeSessionToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	site := startSite(t)
	c := dial(t, startBroker(t, site, ""))
	var minted struct {
		SessionToken string `json:"session_token"`
	}
	if err := json.Unmarshal(siteCall(t, "POST", site+"/_fake/session_token", "", `{"login":"frank"}`), &minted); err != nil {
		t.Fatal(err)
	}
	s, err := c.ExchangeSessionToken(ctx, minted.SessionToken, pb.TokenCustody_TOKEN_CUSTODY_CALLER)
	if err != nil || s.GetAccessToken() == "" || s.GetRefreshToken() == "" || s.GetSiteUrl() != site ||
		s.GetPrincipal().GetUserLogin() != "" || s.GetSessionToken() != "" {
		t.Fatalf("exchanged session: principal %v, %v", s.GetPrincipal(), err)
	}
	if !bytes.Contains(siteCall(t, "GET", site+"/api/v1/entity/projects", s.GetAccessToken(), ""), []byte("Feature Film A")) {
		t.Fatal("the exchanged access token does not work at the site")
	}
	_, err = c.ExchangeSessionToken(ctx, "0123456789abcdef0123456789abcdef", pb.TokenCustody_TOKEN_CUSTODY_CALLER)
	wantReason(t, err, codes.Unauthenticated, ReasonInvalidCredentials)
	_, err = c.ExchangeSessionToken(ctx, "", pb.TokenCustody_TOKEN_CUSTODY_CALLER)
	wantReason(t, err, codes.InvalidArgument, ReasonInvalidRequest)
	if got := requests(t, site)["session_token"]; got != 2 {
		t.Fatalf("session_token grants at the site: %d, want 2", got)
	}
}
