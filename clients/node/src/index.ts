// Public entry point of the credbroker Node/TypeScript client.
export {
  Broker, CallSettings, ConnectOptions, DEFAULT_TIMEOUT_SECONDS, ServiceTokenProvider, channelCredentials, connect,
  isLoopback, serviceConfigFor,
} from "./broker";
export { BrokerError, BrokerReason, errorDetailFromMetadata, toBrokerError } from "./errors";
export {
  CodePrompt, CodeProvider, LoginOptions, ScriptSessionOptions, SecondFactorRequiredError, ScriptTokenSource, SessionTokenSource,
  ShotgunToken, TokenSourceOptions, login, refresh, revoke, scriptSession, toShotgunToken,
} from "./session";
export {
  HeldSessionTokenSource, HeldSessionTokenSourceOptions, MAX_MIN_VALIDITY_SECONDS, getAccessToken, revokeSession,
} from "./held_session";
export {
  AccessToken, ClientInfo, ErrorDetail, LoginResult, Principal, RichStatus, SecondFactorChallenge, Session, TokenCustody,
} from "./generated/credbroker/v1/broker";
