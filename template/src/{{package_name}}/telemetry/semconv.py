"""Names, units and bucket boundaries from the OpenTelemetry semantic conventions.

Spelled out here once, exactly as the specifications write them, so dashboards and alert rules
built on the standard names work unchanged. Attributes under `app.` are this service's own.
"""

# ruff: noqa: S105 - names like "gen_ai.token.type" are metric names, not passwords

from __future__ import annotations

from typing import Final

# GenAI client spans and metrics (semantic-conventions-genai).
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
OPERATION_CHAT: Final = "chat"

GEN_AI_CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TOKEN_USAGE_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
OPERATION_DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# HTTP server spans and metrics (stable HTTP semantic conventions).
HTTP_REQUEST_METHOD: Final = "http.request.method"
HTTP_ROUTE: Final = "http.route"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
URL_PATH: Final = "url.path"
URL_SCHEME: Final = "url.scheme"
ERROR_TYPE: Final = "error.type"
HTTP_SERVER_REQUEST_DURATION: Final = "http.server.request.duration"
HTTP_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

# This service's own attributes and metrics.
APP_TENANT: Final = "app.tenant.id"
APP_FEATURE: Final = "app.feature"
APP_PROMPT_VERSION: Final = "app.prompt.version"
APP_REQUEST_ID: Final = "app.request.id"
APP_COST_USD: Final = "app.cost.usd"
APP_SHADOW: Final = "app.shadow"
APP_PRICED: Final = "app.cost.priced"
APP_USAGE_ESTIMATED: Final = "app.usage.estimated"
APP_CACHE_RESULT: Final = "app.cache.result"
APP_MODEL: Final = "app.model"
APP_BUDGET_SCOPE: Final = "app.budget.scope"
APP_BUDGET_PERIOD: Final = "app.budget.period"
APP_BUDGET_THRESHOLD: Final = "app.budget.threshold"
APP_BUDGET_REASON: Final = "app.budget.reason"
APP_RATE_LIMIT: Final = "app.rate_limit"
APP_AUTH_FAILURE: Final = "app.auth.failure"
APP_AUDITED: Final = "app.audited"
APP_GUARDRAIL_CHECK: Final = "app.guardrail.check"
APP_GUARDRAIL_ACTION: Final = "app.guardrail.action"

APP_MODEL_COST: Final = "app.model.cost"
APP_MODEL_UNPRICED_CALLS: Final = "app.model.unpriced_calls"
APP_MODEL_FALLBACKS: Final = "app.model.fallbacks"
APP_MODEL_RETRIES: Final = "app.model.retries"
APP_BREAKER_STATE_GAUGE: Final = "app.model.breaker.state"
APP_CACHE_LOOKUPS: Final = "app.cache.lookups"
APP_BUDGET_UTILIZATION: Final = "app.budget.utilization"
APP_BUDGET_HELD: Final = "app.budget.held"
APP_BUDGET_ALERTS: Final = "app.budget.alerts"
APP_BUDGET_REJECTIONS: Final = "app.budget.rejections"
APP_RATE_LIMITED: Final = "app.rate_limit.rejections"
APP_AUTH_FAILURES: Final = "app.auth.failures"
APP_GUARDRAIL_OUTPUT: Final = "app.guardrail.output"
APP_GUARDRAIL_INJECTION: Final = "app.guardrail.injection"
APP_LEDGER_PENDING: Final = "app.ledger.pending"
APP_LEDGER_WRITE_ERRORS: Final = "app.ledger.write_errors"
APP_LEDGER_DROPPED_ROWS: Final = "app.ledger.dropped_rows"
