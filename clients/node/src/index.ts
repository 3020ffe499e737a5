// Public entry point of the credbroker Node/TypeScript client. The
// shotgun-nodejs client is the separate entry point "credbroker-client/shotgun".
export {
  Broker, CallSettings, ConnectOptions, DEFAULT_BROWSER_WAIT_SECONDS, DEFAULT_TIMEOUT_SECONDS, MAX_BROWSER_WAIT_SECONDS,
  ServiceTokenProvider, channelCredentials, connect, isLoopback, serviceConfigFor,
} from "./broker";
export { BrokerError, BrokerReason, errorDetailFromMetadata, toBrokerError } from "./errors";
export {
  CodePrompt, CodeProvider, LoginOptions, ScriptSessionOptions, SecondFactorRequiredError, ScriptTokenSource, SessionTokenSource,
  TokenSource, TokenSourceOptions, exchangeSessionToken, login, refresh, revoke, scriptSession,
} from "./session";
export {
  HeldSessionTokenSource, HeldSessionTokenSourceOptions, MAX_MIN_VALIDITY_SECONDS, getAccessToken, revokeSession,
} from "./held_session";
export {
  ApprovalHandler, AwaitApprovalOptions, BrowserLoginOptions, awaitBrowserApproval, beginBrowserLogin, browserLogin,
} from "./browser_login";
export {
  AccessToken, BrowserLoginChallenge, ClientInfo, CredentialKind, ErrorDetail, LoginResult, Principal, RichStatus,
  SecondFactorChallenge, Session, TokenCustody,
} from "./generated/credbroker/v1/broker";
