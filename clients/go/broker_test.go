// Tests of the Go client against the real broker and the fake ShotGrid site
// (binaries from CREDBROKER_BROKER_BINARY / CREDBROKER_FAKE_SITE_BINARY):
// two-step login with a wrong code first, single-flight refresh, script token
// source, revoke, TLS with a CA bundle and a client certificate. Each test
// starts its own processes on ports the OS picks and asserts exact reasons
// and exact request counts at the site.
package credbroker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// binary_ is the program the environment names (ctest sets it), else the one
// at `inBuild` under the repository's build/ (found from this package's real
// folder, which GOPATH mode reaches through a link).
func binary_(env, inBuild string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	here, err := os.Getwd()
	if err == nil {
		here, err = filepath.EvalSymlinks(here)
	}
	if err != nil {
		return inBuild
	}
	return filepath.Join(here, "..", "..", "build", inBuild)
}

// totp is RFC 6238 (SHA-1, 30 s, 6 digits), computed here independently of
// the broker and the fake site.
func totp(secret string, at time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(secret, "="))
	if err != nil {
		panic(err)
	}
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(counter[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

func TestTOTPMatchesRFC6238(t *testing.T) {
	// RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits → last 6.
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 2000000000: "279037"} {
		if got := totp(secret, time.Unix(unix, 0)); got != want {
			t.Errorf("totp at %d = %s, want %s", unix, got, want)
		}
	}
}

// wrongCode is a code the site refuses now (none of the ±1 step codes).
func wrongCode(secret string) string {
	now := time.Now()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != totp(secret, now) && c != totp(secret, now.Add(-30*time.Second)) &&
			c != totp(secret, now.Add(30*time.Second)) && c != totp(secret, now.Add(60*time.Second)) {
			return c
		}
	}
	panic("unreachable")
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  bytes.Buffer
}

// start runs a binary and waits for the port it writes to portFile.
func start(t *testing.T, portFile, bin string, args ...string) (*process, int) {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stderr = &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(portFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			var port int
			if _, err := fmt.Sscan(string(b), &port); err == nil {
				return p, port
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited early (%v): %s", bin, p.err, p.log.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.cmd.Process.Kill()
	t.Fatalf("%s wrote no port to %s", bin, portFile)
	return nil, 0
}

// startSite starts the fake site; it is killed when the test ends (its
// graceful stop waits out idle keep-alive connections; not under test).
func startSite(t *testing.T, args ...string) string {
	t.Helper()
	portFile := filepath.Join(t.TempDir(), "site.port")
	args = append([]string{"--quiet", "--listen", "127.0.0.1:0", "--port-file", portFile}, args...)
	p, port := start(t, portFile,
		binary_("CREDBROKER_FAKE_SITE_BINARY", "tests/fake_shotgrid/fake-shotgrid"), args...)
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// startBroker starts the broker for the site with extra YAML; it is stopped
// with SIGTERM when the test ends and must exit 0. Register clients after
// this so that they close first.
func startBroker(t *testing.T, siteURL, extra string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "broker.yaml")
	// No drain delay: the test stops the broker with SIGTERM and need not wait.
	yaml := fmt.Sprintf("listen: 127.0.0.1:0\nserver:\n  drain_seconds: 0\ndefault_site: main\nsites:\n  - name: main\n    url: %s\n%s", siteURL, extra)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	portFile := filepath.Join(dir, "broker.port")
	p, port := start(t, portFile,
		binary_("CREDBROKER_BROKER_BINARY", "broker/credential-broker"),
		"--config", config, "--port-file", portFile)
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			t.Errorf("broker did not stop on SIGTERM")
		}
		if p.err != nil {
			t.Errorf("broker exited with %v", p.err)
		}
		if t.Failed() {
			t.Logf("broker log:\n%s", p.log.String())
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func dial(t *testing.T, addr string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func siteCall(t *testing.T, method, url, bearer, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	return b
}

// requests returns the site's request counts per grant.
func requests(t *testing.T, siteURL string) map[string]int {
	t.Helper()
	var stats struct{ Requests map[string]int }
	if err := json.Unmarshal(siteCall(t, "GET", siteURL+"/_fake/stats", "", ""), &stats); err != nil {
		t.Fatal(err)
	}
	return stats.Requests
}

func wantReason(t *testing.T, err error, code codes.Code, reason string) *BrokerError {
	t.Helper()
	var be *BrokerError
	if !errors.As(err, &be) || be.Code != code || be.Reason != reason {
		t.Fatalf("want %s / %s, got %v", code, reason, err)
	}
	return be
}

func TestLoginRefreshAndScriptSessionsAgainstTheRealBroker(t *testing.T) {
	// Tokens live 30 s, inside the 60 s margin: the first Token refreshes.
	site := startSite(t, "--two-factor", "--token-lifetime", "30")
	c := dial(t, startBroker(t, site, ""), WithServiceToken("not-checked-by-the-broker-yet"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before := requests(t, site)

	const secret = "JBSWY3DPEHPK3PXP"
	asked := 0
	sess, err := c.Login(ctx, "alice", "alice-password-1", func(_ context.Context, ch Challenge, prev *BrokerError) (string, error) {
		asked++
		switch asked {
		case 1:
			if ch.AttemptsLeft != 5 || prev != nil || len(ch.ID) != 64 || time.Until(ch.ExpireTime) < 200*time.Second {
				t.Errorf("first ask: %+v, previous %v", ch, prev)
			}
			return wrongCode(secret), nil
		case 2:
			if prev == nil || prev.Code != codes.Unauthenticated || prev.Reason != ReasonInvalidSecondFactor ||
				prev.AttemptsLeft != 4 || ch.AttemptsLeft != 4 {
				t.Errorf("second ask: %+v, previous %+v", ch, prev)
			}
			return totp(secret, time.Now()), nil
		}
		return "", errors.New("asked a third time")
	})
	if err != nil {
		t.Fatal(err)
	}
	if asked != 2 || sess.GetPrincipal().GetUserLogin() != "alice" || sess.GetTokenType() != "Bearer" ||
		sess.GetRefreshToken() == "" || sess.GetAccessToken() == "" {
		t.Fatalf("asked %d times, session %v", asked, sess)
	}
	after := requests(t, site)
	if got := after["password"] - before["password"]; got != 3 {
		t.Fatalf("password grants at the site: %d, want 3 (begin, wrong code, right code)", got)
	}

	// Eight concurrent callers of a stale session share one RefreshSession.
	siteCall(t, "POST", site+"/_fake/settings", "", `{"token_lifetime":3600}`)
	ts := c.SessionTokenSource(sess)
	tokens := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func(i int) { defer wg.Done(); tokens[i], errs[i] = ts.Token(ctx) }(i)
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[i] == sess.GetAccessToken() {
			t.Fatalf("Token %d: %q, %v (first %q, login's %q)", i, tokens[i], errs[i], tokens[0], sess.GetAccessToken())
		}
	}
	if again, err := ts.Token(ctx); err != nil || again != tokens[0] {
		t.Fatalf("fresh token not reused: %q, %v", again, err)
	}
	if got := requests(t, site)["refresh_token"] - before["refresh_token"]; got != 1 {
		t.Fatalf("refresh grants at the site: %d, want 1", got)
	}
	rotated := ts.RefreshToken()
	if rotated == "" || rotated == sess.GetRefreshToken() || ts.Session().GetPrincipal().GetUserLogin() != "alice" {
		t.Fatalf("refresh token not rotated: %q", rotated)
	}
	if !bytes.Contains(siteCall(t, "GET", site+"/api/v1/entity/projects", tokens[0], ""), []byte("Feature Film A")) {
		t.Fatal("the refreshed access token does not work at the site")
	}
	_, err = c.Refresh(ctx, sess.GetRefreshToken()) // spent by the token source
	wantReason(t, err, codes.Unauthenticated, ReasonRefreshTokenInvalid)

	// Script sessions: one grant for two Tokens; a wrong key is typed.
	st := c.ScriptTokenSource("ingest-bot", "ingest-bot-key-0001", "")
	first, err := st.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := st.Token(ctx); err != nil || second != first {
		t.Fatalf("script token not reused: %q, %v", second, err)
	}
	_, err = c.ScriptSession(ctx, "ingest-bot", "wrong-key", "")
	wantReason(t, err, codes.Unauthenticated, ReasonInvalidScriptKey)
	if got := requests(t, site)["client_credentials"] - before["client_credentials"]; got != 2 {
		t.Fatalf("client_credentials grants at the site: %d, want 2", got)
	}

	// Revoke spends the current refresh token.
	if err := c.Revoke(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	_, err = c.Refresh(ctx, rotated)
	wantReason(t, err, codes.Unauthenticated, ReasonRefreshTokenInvalid)
	if got := requests(t, site)["password"] - before["password"]; got != 3 {
		t.Fatalf("password grants at the site: %d, want still 3", got)
	}
}

func TestTheCodeUpFrontLogsInInOneCall(t *testing.T) {
	ctx := context.Background()
	site := startSite(t, "--two-factor")
	c := dial(t, startBroker(t, site, ""))
	const secret = "NBSWSZDJFVZWKY3S" // heidi
	before := requests(t, site)["password"]
	sess, err := c.Login(ctx, "heidi", "heidi-password-1", nil, WithCode(totp(secret, time.Now())))
	if err != nil || sess.GetPrincipal().GetUserLogin() != "heidi" || sess.GetRefreshToken() == "" {
		t.Fatalf("session %v, %v", sess, err)
	}
	if got := requests(t, site)["password"] - before; got != 1 {
		t.Fatalf("password grants at the site: %d, want 1", got)
	}
	// Broker custody: a session id and no refresh token (a backup code, as the TOTP code is spent).
	held, err := c.Login(ctx, "heidi", "heidi-password-1", nil, WithCode("8714-2295"),
		WithCustody(pb.TokenCustody_TOKEN_CUSTODY_BROKER))
	if err != nil || len(held.GetSessionId()) != 64 || held.GetRefreshToken() != "" {
		t.Fatalf("held session %v, %v", held, err)
	}
	if _, err := c.Login(ctx, "grace", "grace-password-1", nil); err != ErrSecondFactorRequired {
		t.Fatalf("a challenge without a CodeProvider: %v", err)
	}
}

func TestLoginFailuresAreTyped(t *testing.T) {
	site := startSite(t, "--two-factor")
	c := dial(t, startBroker(t, site, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before := requests(t, site)

	_, err := c.Login(ctx, "bob", "wrong-password", nil)
	wantReason(t, err, codes.Unauthenticated, ReasonInvalidCredentials)
	_, err = c.ForSite("nowhere").Login(ctx, "bob", "bob-password-1", nil)
	wantReason(t, err, codes.NotFound, ReasonUnknownSite)
	if _, err := c.Login(ctx, "bob", "bob-password-1", nil); err != ErrSecondFactorRequired {
		t.Fatalf("no CodeProvider: %v", err)
	}

	// The provider's own error ends the login; the code is not sent.
	stop := errors.New("person cancelled")
	if _, err := c.Login(ctx, "dave", "dave-password-1", func(context.Context, Challenge, *BrokerError) (string, error) {
		return "", stop
	}); !errors.Is(err, stop) {
		t.Fatalf("provider error: %v", err)
	}
	if got := requests(t, site)["password"] - before["password"]; got != 3 {
		t.Fatalf("password grants at the site: %d, want 3", got)
	}
}

// selfSigned writes a self-signed certificate (usable as its own CA) for
// 127.0.0.1 and its key as PEM files in dir.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSWithACAAndAClientCertificate(t *testing.T) {
	dir := t.TempDir()
	serverCert, serverKey := selfSigned(t, dir, "broker")
	clientCert, clientKey := selfSigned(t, dir, "caller")
	otherCA, _ := selfSigned(t, dir, "other")
	site := startSite(t)
	addr := startBroker(t, site, fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", serverCert, serverKey))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The client certificate is presented if asked (mTLS is a later server
	// issue); the bearer token rides along; the call works over TLS.
	c := dial(t, addr, WithCA(serverCert), WithClientCert(clientCert, clientKey), WithServiceToken("svc"))
	s, err := c.ScriptSession(ctx, "render-farm", "render-farm-key-0002", "")
	if err != nil || s.GetPrincipal().GetScriptName() != "render-farm" || s.GetRefreshToken() != "" {
		t.Fatalf("script session over TLS: %v, %v", s, err)
	}

	// A CA that did not sign the broker's certificate: no connection.
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	_, err = dial(t, addr, WithCA(otherCA)).ScriptSession(short, "render-farm", "render-farm-key-0002", "")
	var be *BrokerError
	if !errors.As(err, &be) || (be.Code != codes.Unavailable && be.Code != codes.DeadlineExceeded) || be.Reason != "" {
		t.Fatalf("untrusted broker certificate: %v", err)
	}
	if got := requests(t, site)["client_credentials"]; got != 1 {
		t.Fatalf("client_credentials grants at the site: %d, want 1", got)
	}

	if _, err := Dial(ctx, addr, WithCA(filepath.Join(dir, "missing.pem"))); err == nil {
		t.Fatal("Dial with a missing CA file succeeded")
	}
}
