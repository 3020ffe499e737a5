// Public entry point of the credbroker Node/TypeScript client.
export { Broker, ConnectOptions, channelCredentials, connect } from "./broker";
export { BrokerError, BrokerReason, errorDetailFromMetadata, toBrokerError } from "./errors";
export {
  CodePrompt, CodeProvider, LoginOptions, ScriptSessionOptions, ScriptTokenSource, SessionTokenSource,
  ShotgunToken, TokenSourceOptions, login, refresh, revoke, scriptSession, toShotgunToken,
} from "./session";
export {
  ClientInfo, ErrorDetail, LoginResult, Principal, RichStatus, SecondFactorChallenge, Session, TokenCustody,
} from "./generated/credbroker/v1/broker";
