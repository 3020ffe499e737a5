// Everything a C++ caller of the credential broker needs: one include.
#pragma once

#include "credbroker/async_token_source.h"
#include "credbroker/broker_error.h"
#include "credbroker/browser_login.h"
#include "credbroker/channel.h"
#include "credbroker/error_detail.h"
#include "credbroker/login.h"
#include "credbroker/reasons.h"
#include "credbroker/token_source.h"
#include "credbroker/v1/broker.grpc.pb.h"
