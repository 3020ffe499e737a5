// Typed errors of the Go client: BrokerError carries the gRPC code and the
// broker's ErrorDetail (reason, attempts_left, retry_after, metadata) decoded
// from the status details (the grpc-status-details-bin trailer).
package credbroker

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/studio-example/credential-broker/clients/go/credbrokerv1"
)

// The reasons the broker puts in ErrorDetail (see docs/api.md).
const (
	ReasonInvalidRequest        = "INVALID_REQUEST"
	ReasonUnknownSite           = "UNKNOWN_SITE"
	ReasonInvalidCredentials    = "INVALID_CREDENTIALS"
	ReasonInvalidSecondFactor   = "INVALID_SECOND_FACTOR"
	ReasonChallengeNotFound     = "CHALLENGE_NOT_FOUND"
	ReasonChallengeBusy         = "CHALLENGE_BUSY"
	ReasonApprovalPending       = "APPROVAL_PENDING"
	ReasonSSORequired           = "SSO_REQUIRED"
	ReasonRefreshTokenInvalid   = "REFRESH_TOKEN_INVALID"
	ReasonSessionNotFound       = "SESSION_NOT_FOUND"
	ReasonInvalidScriptKey      = "INVALID_SCRIPT_KEY"
	ReasonCallerUnauthenticated = "CALLER_UNAUTHENTICATED"
	ReasonCallerNotAllowed      = "CALLER_NOT_ALLOWED"
	ReasonTooManyAttempts       = "TOO_MANY_ATTEMPTS"
	ReasonTooManyRequests       = "TOO_MANY_REQUESTS"
	ReasonUpstreamUnavailable   = "UPSTREAM_UNAVAILABLE"
	ReasonUpstreamProtocolError = "UPSTREAM_PROTOCOL_ERROR"
	ReasonStoreUnavailable      = "STORE_UNAVAILABLE"
	ReasonNotImplemented        = "NOT_IMPLEMENTED"
	ReasonInternal              = "INTERNAL"
)

// BrokerError is a failed broker call. Reason is empty when the status carried
// no ErrorDetail (e.g. a deadline that ran out in the client, or a message
// refused by gRPC itself).
type BrokerError struct {
	Code         codes.Code
	Message      string
	Reason       string
	AttemptsLeft int32             // INVALID_SECOND_FACTOR: code attempts left
	RetryAfter   time.Duration     // TOO_MANY_ATTEMPTS, UPSTREAM_UNAVAILABLE: wait this long
	Metadata     map[string]string // ErrorDetail.metadata
	status       *status.Status
}

func (e *BrokerError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("credbroker: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("credbroker: %s (%s): %s", e.Reason, e.Code, e.Message)
}

// GRPCStatus lets status.FromError and status.Code see the original status.
func (e *BrokerError) GRPCStatus() *status.Status { return e.status }

// Temporary reports whether retrying later may succeed (the broker's only
// retryable code is UNAVAILABLE).
func (e *BrokerError) Temporary() bool { return e.Code == codes.Unavailable }

// HasReason reports whether err is (or wraps) a BrokerError with this reason.
func HasReason(err error, reason string) bool {
	var be *BrokerError
	return errors.As(err, &be) && be.Reason == reason
}

// fromRPC turns the error of a generated stub call into a *BrokerError;
// errors that carry no gRPC status are returned unchanged.
func fromRPC(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return err
	}
	be := &BrokerError{Code: st.Code(), Message: st.Message(), status: st}
	for _, a := range st.Proto().GetDetails() {
		var d pb.ErrorDetail
		if !a.MessageIs(&d) || a.UnmarshalTo(&d) != nil {
			continue
		}
		be.Reason = d.GetReason()
		be.AttemptsLeft = d.GetAttemptsLeft()
		if d.GetRetryAfter() != nil {
			be.RetryAfter = d.GetRetryAfter().AsDuration()
		}
		be.Metadata = d.GetMetadata()
		break
	}
	return be
}
