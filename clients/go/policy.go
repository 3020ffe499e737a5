// The connection policy shared by every credbroker client, for Go: a default
// deadline on every call and the retries of the shipped service config
// (clients/service_config.json, copied here by build.sh and embedded),
// applied by a unary client interceptor. Debian's grpc-go 1.33 retries only
// when GRPC_GO_RETRY=on is set before the process starts, so the client does
// not rely on it; the interceptor also honours the broker's retry_after.
package credbroker

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// DefaultTimeout bounds every call whose context has no deadline.
const DefaultTimeout = 10 * time.Second

//go:embed service_config.json
var serviceConfigJSON []byte

// ServiceConfig returns the service config every client ships, as JSON (for
// grpc.WithDefaultServiceConfig on connections made without Dial).
func ServiceConfig() string { return string(serviceConfigJSON) }

type retryPolicy struct {
	maxAttempts int
	initial     time.Duration
	max         time.Duration
	multiplier  float64
	codes       map[codes.Code]bool
}

// retryPolicies maps "/service/method" to its retry policy; methods that
// are not in it are never retried.
var retryPolicies = mustParseServiceConfig(serviceConfigJSON)

func mustParseServiceConfig(raw []byte) map[string]*retryPolicy {
	var cfg struct {
		MethodConfig []struct {
			Name []struct {
				Service string `json:"service"`
				Method  string `json:"method"`
			} `json:"name"`
			RetryPolicy *struct {
				MaxAttempts          int      `json:"maxAttempts"`
				InitialBackoff       string   `json:"initialBackoff"`
				MaxBackoff           string   `json:"maxBackoff"`
				BackoffMultiplier    float64  `json:"backoffMultiplier"`
				RetryableStatusCodes []string `json:"retryableStatusCodes"`
			} `json:"retryPolicy"`
		} `json:"methodConfig"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		panic(fmt.Sprintf("credbroker: service_config.json: %v", err))
	}
	names := map[string]codes.Code{"UNAVAILABLE": codes.Unavailable,
		"DEADLINE_EXCEEDED": codes.DeadlineExceeded, "RESOURCE_EXHAUSTED": codes.ResourceExhausted,
		"ABORTED": codes.Aborted, "INTERNAL": codes.Internal, "UNKNOWN": codes.Unknown}
	out := map[string]*retryPolicy{}
	for _, mc := range cfg.MethodConfig {
		rp := mc.RetryPolicy
		if rp == nil {
			continue
		}
		p := &retryPolicy{maxAttempts: rp.MaxAttempts, initial: seconds(rp.InitialBackoff),
			max: seconds(rp.MaxBackoff), multiplier: rp.BackoffMultiplier, codes: map[codes.Code]bool{}}
		for _, n := range rp.RetryableStatusCodes {
			c, ok := names[n]
			if !ok {
				panic("credbroker: service_config.json: unknown status code " + n)
			}
			p.codes[c] = true
		}
		for _, n := range mc.Name {
			out["/"+n.Service+"/"+n.Method] = p
		}
	}
	return out
}

// seconds parses the "0.2s" durations of a gRPC service config.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	if err != nil || !strings.HasSuffix(s, "s") {
		panic("credbroker: service_config.json: bad duration " + s)
	}
	return time.Duration(f * float64(time.Second))
}

// policyInterceptor gives every call a deadline (timeout, when the context
// has none) and retries the calls the service config names.
func policyInterceptor(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		p := retryPolicies[method]
		// A login that carries the code is never repeated: a second try would
		// count twice against the person's failure budget.
		if r, ok := req.(*pb.BeginLoginRequest); ok && r.GetSecondFactorCode() != "" {
			p = nil
		}
		backoff := time.Duration(0)
		if p != nil {
			backoff = p.initial
		}
		for attempt := 1; ; attempt++ {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if err == nil || p == nil || attempt >= p.maxAttempts || !p.codes[status.Code(err)] {
				return err
			}
			// Jittered exponential backoff, as gRPC's own retries, but never
			// sooner than the broker's retry_after.
			wait := time.Duration(rand.Int63n(int64(backoff) + 1))
			if be, ok := fromRPC(err).(*BrokerError); ok && be.RetryAfter > wait {
				wait = be.RetryAfter
			}
			if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
				return err
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			backoff = time.Duration(float64(backoff) * p.multiplier)
			if backoff > p.max {
				backoff = p.max
			}
		}
	}
}
