// Unit tests of the Go client against an in-process gRPC server: ErrorDetail
// decoding, errors.As / status.Code, the service bearer token, Login's
// re-asking, loopback detection and token freshness.
package credbroker

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// stubBroker answers like the broker: a challenge with 2 attempts that no
// code completes, and TOO_MANY_ATTEMPTS for every script session.
type stubBroker struct {
	pb.UnimplementedCredentialBrokerServer
	mu            sync.Mutex
	authorization []string
}

func failure(c codes.Code, msg string, d *pb.ErrorDetail) error {
	st, err := status.New(c, msg).WithDetails(d)
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func (s *stubBroker) BeginLogin(ctx context.Context, _ *pb.BeginLoginRequest) (*pb.LoginResult, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.authorization = append(s.authorization, md.Get("authorization")...)
	s.mu.Unlock()
	return &pb.LoginResult{Result: &pb.LoginResult_Challenge{Challenge: &pb.SecondFactorChallenge{
		ChallengeId: "c1", AttemptsLeft: 2, ExpireTime: timestamppb.New(time.Unix(2000000000, 0)),
	}}}, nil
}

func (s *stubBroker) SubmitSecondFactor(_ context.Context, r *pb.SubmitSecondFactorRequest) (*pb.LoginResult, error) {
	left := int32(1)
	if r.Code == "second" {
		left = 0
	}
	return nil, failure(codes.Unauthenticated, "wrong code", &pb.ErrorDetail{Reason: ReasonInvalidSecondFactor, AttemptsLeft: left})
}

func (s *stubBroker) IssueScriptSession(context.Context, *pb.IssueScriptSessionRequest) (*pb.Session, error) {
	return nil, failure(codes.ResourceExhausted, "slow down", &pb.ErrorDetail{
		Reason: ReasonTooManyAttempts, RetryAfter: durationpb.New(90 * time.Second),
		Metadata: map[string]string{"k": "v"},
	})
}

func startStub(t *testing.T, opts ...Option) (*Client, *stubBroker) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	stub := &stubBroker{}
	pb.RegisterCredentialBrokerServer(srv, stub)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := Dial(context.Background(), lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, stub
}

func TestBrokerErrorCarriesTheErrorDetail(t *testing.T) {
	c, _ := startStub(t)
	_, err := c.ScriptSession(context.Background(), "s", "k", "")
	var be *BrokerError
	if !errors.As(err, &be) {
		t.Fatalf("not a *BrokerError: %#v", err)
	}
	if be.Code != codes.ResourceExhausted || be.Reason != ReasonTooManyAttempts ||
		be.RetryAfter != 90*time.Second || be.Metadata["k"] != "v" || be.Message != "slow down" {
		t.Fatalf("got %+v", be)
	}
	if status.Code(err) != codes.ResourceExhausted || !HasReason(err, ReasonTooManyAttempts) ||
		HasReason(err, ReasonInvalidRequest) || be.Temporary() {
		t.Fatalf("status.Code/HasReason/Temporary disagree: %v", err)
	}
	if wrapped := errors.New("other"); HasReason(wrapped, "") {
		t.Fatal("HasReason on a non-broker error")
	}
}

func TestLoginAsksAgainWhileAttemptsAreLeftAndSendsTheServiceToken(t *testing.T) {
	c, stub := startStub(t, WithServiceToken("svc-token-1"))
	var seen []Challenge
	var prev []*BrokerError
	_, err := c.Login(context.Background(), "u", "p", func(_ context.Context, ch Challenge, p *BrokerError) (string, error) {
		seen = append(seen, ch)
		prev = append(prev, p)
		return [...]string{"first", "second"}[len(seen)-1], nil
	})
	var be *BrokerError
	if !errors.As(err, &be) || be.Reason != ReasonInvalidSecondFactor || be.AttemptsLeft != 0 {
		t.Fatalf("want INVALID_SECOND_FACTOR with 0 attempts left, got %v", err)
	}
	if len(seen) != 2 || seen[0].AttemptsLeft != 2 || seen[1].AttemptsLeft != 1 || seen[0].ID != "c1" ||
		!seen[0].ExpireTime.Equal(time.Unix(2000000000, 0)) || prev[0] != nil || prev[1].AttemptsLeft != 1 {
		t.Fatalf("code provider saw %+v / %+v", seen, prev)
	}
	if len(stub.authorization) != 1 || stub.authorization[0] != "Bearer svc-token-1" {
		t.Fatalf("authorization metadata %q", stub.authorization)
	}
	if _, err := c.Login(context.Background(), "u", "p", nil); err != ErrSecondFactorRequired {
		t.Fatalf("nil CodeProvider: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:50051": true, "127.8.0.1:1": true, "[::1]:443": true, "localhost:1": true,
		"10.0.0.1:443": false, "broker.internal:443": false, "[::]:1": false,
	} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) != %v", addr, want)
		}
	}
}

func TestFreshnessUsesTheMargin(t *testing.T) {
	now := time.Unix(1000, 0)
	cfg := tokenConfig{margin: time.Minute, now: func() time.Time { return now }}
	s := func(expire time.Time) *Session {
		return &Session{AccessToken: "a", ExpireTime: timestamppb.New(expire)}
	}
	if !fresh(s(now.Add(time.Minute)), cfg) || fresh(s(now.Add(59*time.Second)), cfg) ||
		fresh(nil, cfg) || fresh(&Session{AccessToken: "a"}, cfg) {
		t.Fatal("fresh() disagrees with the margin")
	}
}
