// Tests of the connection policy against an in-process gRPC server that
// fails on demand and counts attempts: plaintext only to this machine unless
// WithInsecure, never the service token in the clear off this machine, the
// default deadline, and retries of UNAVAILABLE only where safe.
package credbroker

import (
	"context"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// flakyBroker answers UNAVAILABLE `failures` times per method, then a
// session, and records each call's remaining time.
type flakyBroker struct {
	pb.UnimplementedCredentialBrokerServer
	failures   int
	retryAfter time.Duration
	delay      time.Duration
	mu         sync.Mutex
	attempts   map[string]int
	remaining  []time.Duration
}

func (f *flakyBroker) answer(ctx context.Context, method string) error {
	f.mu.Lock()
	f.attempts[method]++
	if d, ok := ctx.Deadline(); ok {
		f.remaining = append(f.remaining, time.Until(d))
	} else {
		f.remaining = append(f.remaining, -1)
	}
	failing := f.attempts[method] <= f.failures
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if failing {
		return failure(codes.Unavailable, "down for a moment",
			&pb.ErrorDetail{Reason: ReasonUpstreamUnavailable, RetryAfter: durationpb.New(f.retryAfter)})
	}
	return nil
}

var okSession = &pb.Session{AccessToken: "tok", TokenType: "Bearer"}

func (f *flakyBroker) BeginLogin(ctx context.Context, _ *pb.BeginLoginRequest) (*pb.LoginResult, error) {
	if err := f.answer(ctx, "BeginLogin"); err != nil {
		return nil, err
	}
	return &pb.LoginResult{Result: &pb.LoginResult_Session{Session: okSession}}, nil
}

func (f *flakyBroker) SubmitSecondFactor(ctx context.Context, _ *pb.SubmitSecondFactorRequest) (*pb.LoginResult, error) {
	if err := f.answer(ctx, "SubmitSecondFactor"); err != nil {
		return nil, err
	}
	return &pb.LoginResult{Result: &pb.LoginResult_Session{Session: okSession}}, nil
}

func (f *flakyBroker) RefreshSession(ctx context.Context, _ *pb.RefreshSessionRequest) (*pb.Session, error) {
	return okSession, f.answer(ctx, "RefreshSession")
}

func (f *flakyBroker) IssueScriptSession(ctx context.Context, _ *pb.IssueScriptSessionRequest) (*pb.Session, error) {
	return okSession, f.answer(ctx, "IssueScriptSession")
}

func (f *flakyBroker) RevokeSession(ctx context.Context, _ *pb.RevokeSessionRequest) (*pb.RevokeSessionResponse, error) {
	return &pb.RevokeSessionResponse{}, f.answer(ctx, "RevokeSession")
}

func startFlaky(t *testing.T, f *flakyBroker, opts ...Option) *Client {
	t.Helper()
	f.attempts = map[string]int{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterCredentialBrokerServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := Dial(context.Background(), lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPlaintextOffThisMachineNeedsWithInsecureAndNeverCarriesTheToken(t *testing.T) {
	ctx := context.Background()
	for _, addr := range []string{"192.0.2.10:50051", "broker.studio.lan:50051", "dns:///broker.studio.lan:443", "[2001:db8::1]:50051"} {
		if isLoopback(addr) {
			t.Errorf("isLoopback(%q)", addr)
		}
		c, err := Dial(ctx, addr, WithInsecure())
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		c.Close()
		_, err = Dial(ctx, addr, WithInsecure(), WithServiceToken("svc"))
		if err == nil || !strings.Contains(err.Error(), "service token in the clear") {
			t.Errorf("%s: token over plaintext: %v", addr, err)
		}
		c, err = Dial(ctx, addr, WithServiceToken("svc")) // TLS with the system roots
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		c.Close()
	}
	for _, addr := range []string{"127.0.0.1:1", "localhost:1", "[::1]:1", "unix:/tmp/broker.sock"} {
		if !isLoopback(addr) {
			t.Errorf("!isLoopback(%q)", addr)
		}
	}
}

func TestPlaintextOffThisMachineIsTLSWithoutWithInsecure(t *testing.T) {
	// A plaintext server on a non-loopback address of this machine is not
	// reachable without WithInsecure: the client speaks TLS to it.
	addrs, _ := net.InterfaceAddrs()
	var host string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			host = ipn.IP.String()
		}
	}
	if host == "" {
		t.Skip("no non-loopback IPv4 address")
	}
	lis, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Skip(err)
	}
	f := &flakyBroker{attempts: map[string]int{}}
	srv := grpc.NewServer()
	pb.RegisterCredentialBrokerServer(srv, f)
	go srv.Serve(lis)
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, _ := Dial(ctx, lis.Addr().String())
	defer c.Close()
	if _, err := c.ScriptSession(ctx, "ingest-bot", "", ""); status.Code(err) != codes.Unavailable {
		t.Errorf("TLS to a plaintext server: %v", err)
	}
	c2, _ := Dial(ctx, lis.Addr().String(), WithInsecure())
	defer c2.Close()
	if _, err := c2.ScriptSession(ctx, "ingest-bot", "", ""); err != nil {
		t.Errorf("WithInsecure: %v", err)
	}
}

func TestEveryCallGetsTheDefaultDeadline(t *testing.T) {
	f := &flakyBroker{}
	c := startFlaky(t, f)
	if _, err := c.ScriptSession(context.Background(), "ingest-bot", "", ""); err != nil {
		t.Fatal(err)
	}
	// The raw stub goes through the same interceptor.
	if _, err := c.Stub().RefreshSession(context.Background(), &pb.RefreshSessionRequest{}); err != nil {
		t.Fatal(err)
	}
	if DefaultTimeout != 10*time.Second {
		t.Errorf("DefaultTimeout = %v", DefaultTimeout)
	}
	for _, r := range f.remaining {
		if r < 8*time.Second || r > DefaultTimeout+100*time.Millisecond {
			t.Errorf("remaining %v, want about %v", r, DefaultTimeout)
		}
	}
	c2 := startFlaky(t, &flakyBroker{delay: time.Second}, WithTimeout(200*time.Millisecond))
	if _, err := c2.ScriptSession(context.Background(), "ingest-bot", "", ""); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("WithTimeout(200ms) against a 1 s answer: %v", err)
	}
}

func TestUnavailableIsRetriedForCallsSafeToRepeat(t *testing.T) {
	f := &flakyBroker{failures: 2}
	c := startFlaky(t, f)
	ctx := context.Background()
	if _, err := c.ScriptSession(ctx, "ingest-bot", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "refresh-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "alice", "pw", nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"IssueScriptSession": 3, "RevokeSession": 3, "BeginLogin": 3}
	if !reflect.DeepEqual(f.attempts, want) {
		t.Errorf("attempts %v, want %v", f.attempts, want)
	}
}

func TestRetriesWaitForTheBrokersRetryAfter(t *testing.T) {
	f := &flakyBroker{failures: 1, retryAfter: 400 * time.Millisecond}
	c := startFlaky(t, f)
	start := time.Now()
	if _, err := c.ScriptSession(context.Background(), "ingest-bot", "", ""); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond {
		t.Errorf("retried after %v, before retry_after", waited)
	}
	// A retry_after beyond the deadline ends the call with the failure.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	f.failures = 10
	_, err := c.ScriptSession(ctx, "ingest-bot", "", "")
	if !HasReason(err, ReasonUpstreamUnavailable) || status.Code(err) != codes.Unavailable {
		t.Errorf("got %v", err)
	}
}

func TestUnavailableIsNotRetriedWhenARepeatCouldSpendSomething(t *testing.T) {
	f := &flakyBroker{failures: 1}
	c := startFlaky(t, f)
	ctx := context.Background()
	if _, err := c.Refresh(ctx, "refresh-1"); status.Code(err) != codes.Unavailable {
		t.Errorf("Refresh: %v", err)
	}
	if _, err := c.Login(ctx, "alice", "pw", nil, WithCode("123456")); status.Code(err) != codes.Unavailable {
		t.Errorf("Login with a code: %v", err)
	}
	if _, err := c.Stub().SubmitSecondFactor(ctx, &pb.SubmitSecondFactorRequest{ChallengeId: "c", Code: "1"}); status.Code(err) != codes.Unavailable {
		t.Errorf("SubmitSecondFactor: %v", err)
	}
	want := map[string]int{"RefreshSession": 1, "BeginLogin": 1, "SubmitSecondFactor": 1}
	if !reflect.DeepEqual(f.attempts, want) {
		t.Errorf("attempts %v, want %v", f.attempts, want)
	}
}
