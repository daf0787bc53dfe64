import { z } from 'zod';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LIMITS } from '../protocol/index.js';
import { closest } from '../protocol/suggest.js';
import { ConfigError, SECRETS_FILE, defaultConfigFile, loadSecrets, readConfigFile, readCredential, readEnvFile, readSecretFile } from './config-files.js';

export { ConfigError, defaultConfigFile };

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.union([z.array(z.string()), z.string()]).transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

function defaultDataDir(): string {
  const xdg = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'chatd');
}

interface FieldSpec {
  env: string;
  flag?: string;
  schema: z.ZodType;
  default: unknown;
  description: string;
  secret?: boolean;
}

/** Every setting, with its env name, default and one-line description. The README's table mirrors this. */
export const FIELDS = {
  host: { env: 'HOST', flag: 'host', schema: z.string().min(1), default: '127.0.0.1', description: 'Address to listen on' },
  port: { env: 'PORT', flag: 'port', schema: int(0, 65535), default: 3000, description: 'TCP port (0 picks a free one)' },
  dataDir: { env: 'CHAT_DATA_DIR', flag: 'dataDir', schema: z.string().min(1), default: defaultDataDir(), description: 'Where the SQLite file and generated secrets live (default under $XDG_DATA_HOME)' },
  sqliteDriver: { env: 'CHAT_SQLITE_DRIVER', schema: z.enum(['auto', 'node', 'node:sqlite', 'better-sqlite3']), default: 'auto', description: 'Embedded: the SQLite driver: auto (node on Node 24+, else better-sqlite3), node (built in; on Node 22.13+ it works but prints an ExperimentalWarning) or better-sqlite3 (native; the only one on Node 20, and it aborts on Node 24)' },
  deployment: { env: 'CHAT_DEPLOYMENT', schema: z.enum(['embedded', 'scaleout']), default: 'embedded', description: 'embedded (SQLite and this process: one node), or scaleout (MongoDB, Redis and Kafka: any number of nodes; the default when MONGODB_URI, REDIS_URL or KAFKA_BROKERS is set, and then all three are needed)' },
  mongodbUri: { env: 'MONGODB_URI', schema: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI'), default: undefined, description: 'MongoDB connection string', secret: true },
  mongodbUsername: { env: 'MONGODB_USERNAME', schema: z.string().min(1), default: undefined, description: 'MongoDB user (with MONGODB_PASSWORD) when MONGODB_URI carries no credentials; it needs readWrite on chatd\'s database (authSource in the URI names the database that holds the user)' },
  mongodbPassword: { env: 'MONGODB_PASSWORD', schema: z.string().min(1), default: undefined, description: 'MongoDB password of MONGODB_USERNAME: keeps it out of the URI (MONGODB_PASSWORD_FILE or a credential, like every secret)', secret: true },
  redisUrl: { env: 'REDIS_URL', schema: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'), default: undefined, description: 'Redis URL (needs AOF persistence and maxmemory-policy noeviction)', secret: true },
  redisPassword: { env: 'REDIS_PASSWORD', schema: z.string().min(1), default: undefined, description: 'Redis password (AUTH; with a user in the URL, redis://name@host, that ACL user\'s): keeps it out of REDIS_URL', secret: true },
  redisPrefix: { env: 'CHAT_REDIS_PREFIX', schema: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/), default: 'chat:', description: 'Prefix of every Redis key and adapter channel (several deployments can share one Redis)' },
  kafkaBrokers: { env: 'KAFKA_BROKERS', schema: list.pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'brokers are host:port')).min(1)), default: undefined, description: 'Comma-separated Kafka bootstrap brokers' },
  kafkaSaslMechanism: { env: 'KAFKA_SASL_MECHANISM', schema: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), default: undefined, description: 'Authenticate to Kafka with SASL: plain, scram-sha-256 or scram-sha-512 (with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD); unset: no authentication' },
  kafkaSaslUsername: { env: 'KAFKA_SASL_USERNAME', schema: z.string().min(1), default: undefined, description: 'Kafka SASL user name' },
  kafkaSaslPassword: { env: 'KAFKA_SASL_PASSWORD', schema: z.string().min(1), default: undefined, description: 'Kafka SASL password', secret: true },
  kafkaTls: { env: 'KAFKA_TLS', schema: bool, default: false, description: 'Connect to the Kafka brokers over TLS (the system\'s CAs verify them; NODE_EXTRA_CA_CERTS adds one)' },
  kafkaClientId: { env: 'KAFKA_CLIENT_ID', schema: z.string().min(1), default: 'chatd', description: 'Kafka client id' },
  kafkaTopic: { env: 'KAFKA_TOPIC', schema: z.string().regex(/^[A-Za-z0-9._-]+$/), default: 'chat.messages', description: 'Message topic (keyed by conversation)' },
  kafkaDlqTopic: { env: 'KAFKA_DLQ_TOPIC', schema: z.string().regex(/^[A-Za-z0-9._-]+$/), default: 'chat.messages.dlq', description: 'Dead-letter topic for records that cannot be stored' },
  kafkaGroupId: { env: 'KAFKA_GROUP_ID', schema: z.string().min(1), default: 'chatd-persister', description: 'Consumer group of the persistence consumers' },
  kafkaPartitions: { env: 'KAFKA_PARTITIONS', schema: int(3, 10_000), default: 6, description: 'Partitions of the message topic when chatd creates it (at least 3)' },
  kafkaRetentionHours: { env: 'KAFKA_RETENTION_HOURS', schema: int(1, 10 * 365 * 24), default: 168, description: 'How long Kafka keeps message records (retention.ms of the message and dead-letter topics, set at every start): a deleted message\'s record stays in the topic until then' },
  kafkaReplicationFactor: { env: 'KAFKA_REPLICATION_FACTOR', schema: int(0, 10), default: 0, description: 'Replication factor of created topics; 0 means min(3, brokers), with min.insync.replicas 2 at 3' },
  kafkaSendTimeoutMs: { env: 'CHAT_KAFKA_SEND_TIMEOUT_MS', schema: int(100, 120_000), default: 5000, description: 'How long a publish may retry before the message goes to the failed-publish store' },
  produceLingerMs: { env: 'CHAT_PRODUCE_LINGER_MS', schema: int(0, 1000), default: 0, description: 'Producer linger before a batch is sent (0: the next event-loop turn)' },
  opensearchUrl: { env: 'OPENSEARCH_URL', schema: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL'), default: undefined, description: 'Scale-out: OpenSearch for search (without it, searches answer CHAT_ERR_NOT_CONFIGURED there)', secret: true },
  opensearchIndex: { env: 'CHAT_OPENSEARCH_INDEX', schema: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,200}$/, 'must be a lower-case OpenSearch index name'), default: 'chat-messages', description: 'Scale-out: the OpenSearch index of this deployment' },
  searchFeeder: { env: 'CHAT_SEARCH_FEEDER', schema: bool, default: true, description: 'Scale-out with OPENSEARCH_URL: run a search feeder (Kafka to OpenSearch, its own consumer group) in this node' },
  searchLingerMs: { env: 'CHAT_SEARCH_LINGER_MS', schema: int(1, 60_000), default: 500, description: 'Scale-out with OPENSEARCH_URL: most time the search feeder waits to fill a batch (512 KB) before it indexes; each batch costs OpenSearch a bulk request whatever its size, so a message becomes searchable up to this much later (plus the index refresh, 1 s) and indexing costs far less CPU' },
  persister: { env: 'CHAT_PERSISTER', schema: bool, default: true, description: 'Run a persistence consumer (Kafka to store) in this node' },
  persistConcurrency: { env: 'CHAT_PERSIST_CONCURRENCY', schema: int(1, 64), default: 3, description: 'Partitions one persistence consumer writes at once (one bulk insert each)' },
  persistBatchSize: { env: 'CHAT_PERSIST_BATCH', schema: int(1, 100_000), default: 5000, description: 'Most messages written to the store in one bulk insert' },
  persistLingerMs: { env: 'CHAT_PERSIST_LINGER_MS', schema: int(1, 60_000), default: 1000, description: 'Most time the consumer waits to fill a batch (512 KB). Reads never wait for it (the recent buffer serves them); each batch costs one insert and one head update per conversation, so a longer linger means fewer writes' },
  failedRetryMs: { env: 'CHAT_FAILED_RETRY_MS', schema: int(100, 3_600_000), default: 10_000, description: 'First retry of failed publishes; doubles while Kafka stays down, up to 5 min' },
  logLevel: { env: 'LOG_LEVEL', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', description: 'pino log level' },
  jwtAccessSecret: { env: 'JWT_ACCESS_SECRET', schema: z.string().min(32, 'must be at least 32 characters'), default: undefined, description: 'HS256 key for access JWTs (generated into the data dir when unset)', secret: true },
  jwtRefreshSecret: { env: 'JWT_REFRESH_SECRET', schema: z.string().min(32, 'must be at least 32 characters'), default: undefined, description: 'HMAC key for refresh and API token hashes (generated when unset)', secret: true },
  accessTokenTtlSec: { env: 'CHAT_ACCESS_TOKEN_TTL', schema: int(10, 900), default: 900, description: 'Access JWT lifetime in seconds (at most 900)' },
  refreshTokenTtlSec: { env: 'CHAT_REFRESH_TOKEN_TTL', schema: int(60, 365 * 86400), default: 30 * 86400, description: 'Refresh token lifetime in seconds' },
  maxMessageLength: { env: 'CHAT_MAX_MESSAGE_LENGTH', schema: int(1, LIMITS.maxMessageLengthCeiling), default: LIMITS.maxMessageLength, description: 'Maximum message text length in characters' },
  authRateLimit: { env: 'CHAT_AUTH_RATE_LIMIT', schema: int(1, 1_000_000), default: 30, description: 'Login/register/passwd attempts per client address per window (right or wrong)' },
  authRateWindowSec: { env: 'CHAT_AUTH_RATE_WINDOW', schema: int(1, 86400), default: 60, description: 'Window of the auth rate limit, in seconds' },
  authFreeFailures: { env: 'CHAT_AUTH_FREE_FAILURES', schema: int(1, 1000), default: 5, description: 'Wrong passwords per (account, address) before that pair waits 1 s, then 2, 4… up to 15 min' },
  authFailureWindowSec: { env: 'CHAT_AUTH_FAILURE_WINDOW', schema: int(10, 86400), default: 900, description: 'How long a wrong password counts, in seconds' },
  authAddressFailures: { env: 'CHAT_AUTH_ADDRESS_FAILURES', schema: int(1, 1_000_000), default: 100, description: 'Wrong passwords from one address (any accounts) per failure window before it is refused' },
  authAccountFailures: { env: 'CHAT_AUTH_ACCOUNT_FAILURES', schema: int(1, 1_000_000), default: 500, description: 'Wrong passwords for one account (all addresses) per failure window; past it, only addresses without a failure for it may try' },
  maxApiTokens: { env: 'CHAT_MAX_API_TOKENS', schema: int(1, 100_000), default: 50, description: 'Live API tokens per user' },
  maxSessions: { env: 'CHAT_MAX_SESSIONS', schema: int(1, 100_000), default: 50, description: 'Signed-in sessions (refresh-token families) per user; a new login past it signs out the oldest' },
  maxSocketsPerUser: { env: 'CHAT_MAX_SOCKETS_PER_USER', schema: int(1, 1_000_000), default: 32, description: 'Connected sockets per user (all nodes)' },
  maxPendingConnections: { env: 'CHAT_MAX_PENDING_CONNECTIONS', schema: int(1, 1_000_000), default: 32, description: 'Connections per client address (per node) that have not authenticated yet' },
  handshakeTimeoutMs: { env: 'CHAT_HANDSHAKE_TIMEOUT_MS', schema: int(100, 120_000), default: 10_000, description: 'Time a new connection has to authenticate before it is closed' },
  lookupRateLimit: { env: 'CHAT_LOOKUP_RATE_LIMIT', schema: int(1, 10_000_000), default: 300, description: 'History reads per user per minute (ten times that per address)' },
  friendRateLimit: { env: 'CHAT_FRIEND_RATE_LIMIT', schema: int(1, 10_000_000), default: 60, description: 'Friend requests, accepts and removals per user per minute (ten times that per address)' },
  conversationsRateLimit: { env: 'CHAT_CONVERSATIONS_RATE_LIMIT', schema: int(1, 10_000_000), default: 120, description: 'Conversation listings per user per minute' },
  requestRateLimit: { env: 'CHAT_REQUEST_RATE_LIMIT', schema: int(1, 10_000_000), default: 600, description: 'Authenticated REST requests per user per minute, on every route (ten times that per address); the routes\' own limits apply too' },
  syncRateLimit: { env: 'CHAT_SYNC_RATE_LIMIT', schema: int(1, 10_000_000), default: 120, description: 'message:sync calls per user per minute (a client following `more` makes one per page)' },
  syncMaxBytes: { env: 'CHAT_SYNC_MAX_BYTES', schema: int(64 * 1024, 64 * 1024 * 1024), default: 256 * 1024, description: 'Most bytes of messages in one message:sync answer, counting every character as 3 bytes of UTF-8 (at least one message is always sent); `more` says there is another page' },
  typingRateLimit: { env: 'CHAT_TYPING_RATE_LIMIT', schema: int(1, 10_000_000), default: 120, description: 'typing:update events per user per minute; each (user, conversation) is relayed at most once a second, the latest state last' },
  receiptRateLimit: { env: 'CHAT_RECEIPT_RATE_LIMIT', schema: int(1, 10_000_000), default: 600, description: 'receipt:update events per user per minute (stored at most once per conversation per second)' },
  allowedOrigins: { env: 'CHAT_ALLOWED_ORIGINS', schema: list.pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'origins are scheme://host[:port]'))), default: [], description: 'Comma-separated browser Origins allowed on REST and sockets; requests without an Origin (CLIs, bots) are always allowed' },
  maxGroupMembers: { env: 'CHAT_MAX_GROUP_MEMBERS', schema: int(2, 100_000), default: 1000, description: 'Members a group may have' },
  maxGroupsCreated: { env: 'CHAT_MAX_GROUPS_PER_USER', schema: int(1, 100_000), default: 100, description: 'Groups a user may have created that still exist (being added by others does not count)' },
  groupRateLimit: { env: 'CHAT_GROUP_RATE_LIMIT', schema: int(1, 10_000_000), default: 60, description: 'Group changes (create, add, remove, role, rename, topic, leave, delete) per user per minute' },
  messageRateLimit: { env: 'CHAT_MESSAGE_RATE_LIMIT', schema: int(1, 10_000_000), default: 1200, description: 'Messages a user may send per minute' },
  changeRateLimit: { env: 'CHAT_CHANGE_RATE_LIMIT', schema: int(1, 10_000_000), default: 600, description: 'Edits, deletes and reactions a user may make per minute' },
  searchIndex: { env: 'CHAT_SEARCH_INDEX', schema: z.enum(['on', 'off']), default: 'on', description: 'Embedded: keep the full-text search index (off drops it and search answers CHAT_ERR_NOT_CONFIGURED; on again rebuilds it from the stored messages, without blocking sends)' },
  searchRateLimit: { env: 'CHAT_SEARCH_RATE_LIMIT', schema: int(1, 10_000_000), default: 60, description: 'Searches a user may make per minute' },
  searchPurgeSeconds: { env: 'CHAT_SEARCH_PURGE_SECONDS', schema: int(1, 30 * 86400), default: 3600, description: 'At most this long after a delete or an edit, the old words leave the search index\'s files too (embedded: FTS5 optimize; scale-out: OpenSearch expunges deleted documents)' },
  editWindowSeconds: { env: 'CHAT_EDIT_WINDOW_SECONDS', schema: int(0, 10 * 365 * 86400), default: 86_400, description: 'How long after sending its author may edit a message (0 disables edits); deleting has no window' },
  maxEdits: { env: 'CHAT_MAX_EDITS', schema: int(1, 10_000), default: 100, description: 'Times one message may be edited (each edit keeps the text it replaced)' },
  maxReactions: { env: 'CHAT_MAX_REACTIONS', schema: int(1, 1000), default: 20, description: 'Different emoji one message may carry' },
  maxFileSize: { env: 'CHAT_MAX_FILE_SIZE', schema: int(1, Number.MAX_SAFE_INTEGER), default: 100 * 1024 * 1024, description: 'Largest file one upload may be, in bytes (100 MiB); larger ones are refused before any byte is stored' },
  fileQuotaBytes: { env: 'CHAT_FILE_QUOTA_BYTES', schema: int(0, Number.MAX_SAFE_INTEGER), default: 1024 * 1024 * 1024, description: 'Bytes of files one user may have stored, sent or in upload (1 GiB); a deleted message gives its files\' bytes back' },
  maxUploadsInFlight: { env: 'CHAT_MAX_UPLOADS_IN_FLIGHT', schema: int(1, 1000), default: 10, description: 'Uploads one user may have begun and not finished' },
  uploadExpirySeconds: { env: 'CHAT_UPLOAD_EXPIRY_SECONDS', schema: int(1, 365 * 86400), default: 86_400, description: 'An upload not sent with a message this long after it began is collected, bytes and all' },
  uploadTimeoutSeconds: { env: 'CHAT_UPLOAD_TIMEOUT_SECONDS', schema: int(1, 3600), default: 30, description: 'A request sending an upload\'s bytes is cut off (CHAT_ERR_UPLOAD_TIMEOUT, resumable) when a window this long brings less than CHAT_UPLOAD_MIN_RATE bytes a second' },
  uploadMinRate: { env: 'CHAT_UPLOAD_MIN_RATE', schema: int(0, 1024 * 1024 * 1024), default: 1024, description: 'Bytes a second an upload must average over each CHAT_UPLOAD_TIMEOUT_SECONDS window (0: only a silent window cuts it off)' },
  maxQueuedMessages: { env: 'CHAT_MAX_QUEUED_MESSAGES', schema: int(100, 10_000_000), default: 10_000, description: 'Messages a node holds waiting to be committed (embedded) or produced (scale-out); past it, sends are refused with CHAT_ERR_UNAVAILABLE (retry after 1 s)' },
  commitBatchMax: { env: 'CHAT_COMMIT_BATCH', schema: int(1, 100_000), default: 1000, description: 'Most messages in one batch: one commit (embedded), or sequenced and produced together (scale-out)' },
  metricsPort: { env: 'CHAT_METRICS_PORT', schema: int(0, 65535), default: undefined, description: 'Serve GET /metrics on a listener of its own at this port (0 picks one), and not on the public port; unset: /metrics is on the public port' },
  metricsHost: { env: 'CHAT_METRICS_HOST', schema: z.string().min(1), default: '127.0.0.1', description: 'Address of the metrics listener (with CHAT_METRICS_PORT)' },
  trustProxy: { env: 'CHAT_TRUST_PROXY', schema: bool, default: false, description: 'Trust X-Forwarded-For for client IPs (behind a reverse proxy)' },
  geminiApiKey: { env: 'GEMINI_API_KEY', schema: z.string().min(1), default: undefined, description: 'Gemini API key; without it /ai answers "AI is not configured"', secret: true },
  geminiModel: { env: 'GEMINI_MODEL', schema: z.string().regex(/^[A-Za-z0-9._-]+$/), default: 'gemini-2.5-flash', description: 'Gemini model asked first' },
  geminiFallbackModels: { env: 'GEMINI_FALLBACK_MODELS', schema: list, default: ['gemini-2.5-flash-lite'], description: 'Comma-separated models tried when the first fails' },
  geminiBaseUrl: { env: 'GEMINI_BASE_URL', schema: z.url(), default: undefined, description: 'Another Gemini-compatible endpoint (tests point it at a local fake)' },
  aiTimeoutMs: { env: 'CHAT_AI_TIMEOUT_MS', schema: int(100, 600_000), default: 30_000, description: 'Timeout of one Gemini call' },
  aiRetries: { env: 'CHAT_AI_RETRIES', schema: int(0, 10), default: 2, description: 'Retries per model on timeout, 429 and 5xx, with backoff' },
  aiQuotaPerHour: { env: 'CHAT_AI_QUOTA_PER_HOUR', schema: int(0, 1_000_000), default: 30, description: '/ai questions a user may ask per hour' },
  aiMaxFileBytes: { env: 'CHAT_AI_MAX_FILE_BYTES', schema: int(0, 20 * 1024 * 1024), default: 4 * 1024 * 1024, description: 'Largest file (an image, a PDF or a text file) an /ai question sends to Gemini, from itself or from the message it replies to (0: none)' },
  aiContextMessages: { env: 'CHAT_AI_CONTEXT_MESSAGES', schema: int(0, 200), default: 20, description: 'Recent messages sent to Gemini as context' },
  aiUserConcurrency: { env: 'CHAT_AI_USER_CONCURRENCY', schema: int(1, 1000), default: 2, description: 'Gemini calls in flight at once for one user (the queue serves users in turn)' },
  aiConcurrency: { env: 'CHAT_AI_CONCURRENCY', schema: int(1, 1000), default: 8, description: 'Gemini calls in flight at once' },
} as const satisfies Record<string, FieldSpec>;

export type ConfigKey = keyof typeof FIELDS;
type Value<K extends ConfigKey> = z.output<(typeof FIELDS)[K]['schema']>;
type Unset<K extends ConfigKey> = K extends ConfigKey ? ((typeof FIELDS)[K]['default'] extends undefined ? K : never) : never;
/** Secrets have no default but are always there once loaded: given, or generated into the data dir. */
type Generated = 'jwtAccessSecret' | 'jwtRefreshSecret';
/**
 * The configuration, derived from FIELDS: each setting's type is its schema's output; a setting
 * with no default is optional (except the generated secrets).
 */
export type Config = { [K in Exclude<ConfigKey, Unset<ConfigKey>> | Generated]: Value<K> } & { [K in Exclude<Unset<ConfigKey>, Generated>]?: Value<K> };

export type Source = 'default' | 'file' | 'env file' | 'credential' | 'env' | 'flag' | 'generated' | 'data dir' | 'derived';
export interface LoadedConfig {
  config: Readonly<Config>;
  sources: Record<ConfigKey, Source>;
  /** The config file read, if any: CHAT_CONFIG_FILE, else $XDG_CONFIG_HOME/chatd/config.json when it exists. */
  configFile?: string;
  /** The env file read (--env-file), if any. */
  envFile?: string;
  /** Where each set value came from, for people: "the environment (JWT_ACCESS_SECRET)", "/etc/chatd/config.json", "JWT_ACCESS_SECRET_FILE (/run/secrets/jwt)". */
  origins: Partial<Record<ConfigKey, string>>;
  /** Names given that are no setting but look like one (a misspelling): each with its "did you mean". */
  warnings: string[];
  /** With `collect`: every problem found, each with the setting it concerns (none: the configuration is valid). */
  errors: ConfigError[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  flags?: Partial<Record<ConfigKey, unknown>>;
  /** An env file to read (chatd's --env-file). None is read unless named: a `.env` in whatever directory chatd starts in is not its configuration. */
  envFile?: string;
  /** Generate and persist missing secrets into the data dir (chatd start does; chatd config does not write). */
  persistSecrets?: boolean;
  /** Collect every problem into `errors` and load what is valid, instead of throwing the first (chatd config prints them all). */
  collect?: boolean;
}

/** A setting by any of its names: its variable name (as `chatd config` prints it) or its key here. */
const BY_NAME = new Map<string, ConfigKey>((Object.entries(FIELDS) as [ConfigKey, FieldSpec][]).flatMap(([k, spec]) => [[spec.env, k], [k, k]] as [string, ConfigKey][]));
const ENV_NAMES = (Object.values(FIELDS) as FieldSpec[]).map((f) => f.env);

/**
 * A name in the environment that is no setting but is within a typo of one (`CHAT_MAX_SESSOINS`,
 * `REDIS_URI`): chatd would ignore it, so it says so. Other variables are left alone, the CLI's
 * CHAT_SERVER among them; short names need to be closer (HOME is not HOST).
 */
function misspelt(name: string): string | undefined {
  if (BY_NAME.has(name) || name.endsWith('_FILE') && BY_NAME.has(name.slice(0, -5)) || !/^[A-Z][A-Z0-9_]*_[A-Z0-9_]+$/.test(name)) return undefined;
  return closest(name, ENV_NAMES, name.length >= 8 ? 2 : 1);
}

/** Secrets and URLs that may carry credentials can come from a file, as container platforms mount them (`JWT_ACCESS_SECRET_FILE=/run/secrets/jwt`). */
function fileVariant(key: ConfigKey, spec: FieldSpec): boolean {
  return spec.secret === true || key === 'redisUrl';
}

/** A user and its password: each needs the other. */
const MONGO_AUTH = [['mongodbUsername', 'MONGODB_USERNAME'], ['mongodbPassword', 'MONGODB_PASSWORD']] as const;
const KAFKA_SASL = [['kafkaSaslUsername', 'KAFKA_SASL_USERNAME'], ['kafkaSaslPassword', 'KAFKA_SASL_PASSWORD']] as const;
/** Credentials for the scale-out engines: an error in the embedded deployment, which has no engine to give them to. */
const SCALEOUT_CREDENTIALS = [...MONGO_AUTH, ['redisPassword', 'REDIS_PASSWORD'], ...KAFKA_SASL] as const;

/** Settings that no longer exist: the deployment used to be chosen on three axes. */
const REMOVED = ['CHAT_STORE', 'CHAT_PIPELINE', 'CHAT_CACHE'];

/** Parses config with precedence defaults < config file < env file < env < flags, then freezes it. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  /** A problem: thrown, or with `collect` kept and the loading goes on. */
  const fail = (setting: string, message: string) => {
    const e = new ConfigError(setting, message);
    if (!opts.collect) throw e;
    errors.push(e);
  };
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      if (!opts.collect || !(err instanceof ConfigError)) throw err;
      errors.push(err);
      return fallback;
    }
  };
  const dotenv = attempt(() => readEnvFile(opts.envFile), {});
  const named = env.CHAT_CONFIG_FILE || dotenv.CHAT_CONFIG_FILE;
  const fallback = defaultConfigFile(env);
  const configFile = named || (fs.existsSync(fallback) ? fallback : undefined);
  const file: Partial<Record<ConfigKey, unknown>> = {};
  /** Each setting's name as the file spells it, for messages. */
  const fileNames: Partial<Record<ConfigKey, string>> = {};
  for (const [name, value] of Object.entries(configFile ? attempt(() => readConfigFile(configFile), {}) : {})) {
    const key = BY_NAME.get(name);
    if (key) {
      file[key] = value;
      fileNames[key] = name;
    }
    else {
      const hint = closest(name, ENV_NAMES);
      fail(`${configFile}: ${name}`, `unknown setting${hint ? ` (did you mean ${hint}?)` : ''}; the file's keys are the variable names \`chatd config\` prints`);
    }
  }
  for (const gone of REMOVED) {
    if ((env[gone] ?? dotenv[gone]) !== undefined) fail(gone, 'was removed: CHAT_DEPLOYMENT (embedded or scaleout) chooses the deployment, and MONGODB_URI, REDIS_URL and KAFKA_BROKERS select scaleout');
  }
  for (const name of Object.keys(env)) {
    const hint = misspelt(name);
    if (hint && !REMOVED.includes(name)) warnings.push(`${name} is not a setting and is ignored (did you mean ${hint}?)`);
  }
  // The env file is chatd's own: every name in it should be a setting.
  for (const name of Object.keys(dotenv)) {
    if (BY_NAME.has(name) || name.endsWith('_FILE') && BY_NAME.has(name.slice(0, -5)) || name === 'CHAT_CONFIG_FILE' || REMOVED.includes(name)) continue;
    const hint = closest(name, ENV_NAMES);
    warnings.push(`${opts.envFile}: ${name} is not a setting and is ignored${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  const out: Record<string, unknown> = {};
  const sources = {} as Record<ConfigKey, Source>;
  const origins: Partial<Record<ConfigKey, string>> = {};
  for (const [key, spec] of Object.entries(FIELDS) as [ConfigKey, FieldSpec][]) {
    let value: unknown = spec.default;
    let source: Source = 'default';
    let name = spec.env;
    if (file[key] !== undefined) { value = file[key]; source = 'file'; name = `${configFile}: ${fileNames[key]}`; }
    if (dotenv[spec.env] !== undefined && dotenv[spec.env] !== '') { value = dotenv[spec.env]; source = 'env file'; name = `${opts.envFile}: ${spec.env}`; }
    // A systemd credential named like the setting in lower case (gemini_api_key), below X_FILE and X.
    const credential = fileVariant(key, spec) ? attempt(() => readCredential(env.CREDENTIALS_DIRECTORY, spec.env.toLowerCase()), undefined) : undefined;
    if (credential !== undefined) { value = credential; source = 'credential'; name = `credential ${spec.env.toLowerCase()}`; }
    const fromFile = fileVariant(key, spec) ? attempt(() => readSecretFile(spec.env, env[`${spec.env}_FILE`] ?? dotenv[`${spec.env}_FILE`], env[spec.env] ?? dotenv[spec.env]), undefined) : undefined;
    const secretFile = env[`${spec.env}_FILE`] ?? dotenv[`${spec.env}_FILE`];
    let fileOrigin: string | undefined;
    if (fromFile !== undefined) { value = fromFile; source = 'env'; name = `${spec.env}_FILE`; fileOrigin = `${spec.env}_FILE (${secretFile})`; }
    if (env[spec.env] !== undefined && env[spec.env] !== '') { value = env[spec.env]; source = 'env'; name = spec.env; fileOrigin = undefined; }
    const flagVal = opts.flags?.[key];
    if (flagVal !== undefined) { value = flagVal; source = 'flag'; name = flagName(key, spec); }
    if (value === undefined) { sources[key] = source; continue; }
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      fail(name, parsed.error.issues[0]?.message ?? 'invalid value');
      sources[key] = source;
      continue;
    }
    out[key] = parsed.data;
    sources[key] = source;
    origins[key] = source === 'default' ? 'the default' : source === 'env' && name === spec.env ? `the environment (${spec.env})` : source === 'credential' ? `the systemd credential ${spec.env.toLowerCase()} (${env.CREDENTIALS_DIRECTORY})` : fileOrigin ?? name;
  }
  if (out.dataDir !== undefined) out.dataDir = path.resolve(out.dataDir as string);
  // The three engine URLs select the scale-out deployment, unless it was chosen explicitly; it
  // needs all three, and the embedded deployment uses none.
  const urls = [['mongodbUri', 'MONGODB_URI'], ['redisUrl', 'REDIS_URL'], ['kafkaBrokers', 'KAFKA_BROKERS']] as const;
  const given = urls.filter(([k]) => out[k] !== undefined).map(([, e]) => e);
  if (given.length > 0 && sources.deployment === 'default') { out.deployment = 'scaleout'; sources.deployment = 'derived'; }
  if (out.deployment === 'scaleout') {
    const missing = urls.filter(([k]) => out[k] === undefined).map(([, e]) => e);
    if (missing.length > 0) {
      const why = given.length > 0 ? `selects the scale-out deployment (MongoDB stores messages only behind Kafka), which needs ${missing.join(' and ')} too; or leave it unset for the embedded deployment on SQLite` : `the scale-out deployment needs ${missing.join(' and ')}`;
      fail(given[0] ?? 'CHAT_DEPLOYMENT', why);
    }
    // Several nodes must verify each other's tokens: secrets generated per data dir would differ.
    for (const [k, env] of [['jwtAccessSecret', 'JWT_ACCESS_SECRET'], ['jwtRefreshSecret', 'JWT_REFRESH_SECRET']] as const) {
      if (out[k] === undefined && !errors.some((e) => e.setting.startsWith(env))) fail(env, 'must be set for the scale-out deployment (every chatd node of a deployment shares it)');
    }
    // SASL needs a user and a password; a user or password without a mechanism is a mistake too.
    if (out.kafkaSaslMechanism !== undefined) {
      for (const [k, name] of KAFKA_SASL) if (out[k] === undefined) fail(name, `must be set with KAFKA_SASL_MECHANISM=${String(out.kafkaSaslMechanism)}`);
    } else {
      for (const [k, name] of KAFKA_SASL) if (out[k] !== undefined) fail(name, 'is used only with KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)');
    }
    // MongoDB's user and password: both, and in one place (the URI's or the settings').
    const [[user, userName], [pass, passName]] = MONGO_AUTH;
    if ((out[user] === undefined) !== (out[pass] === undefined)) fail(out[user] === undefined ? userName : passName, `must be set with ${out[user] === undefined ? passName : userName}`);
    if ((out[user] ?? out[pass]) !== undefined && typeof out.mongodbUri === 'string' && /^mongodb(\+srv)?:\/\/[^/?#]*@/.test(out.mongodbUri)) fail(out[user] !== undefined ? userName : passName, 'cannot be used with credentials in MONGODB_URI: give them in one place');
    if (out.redisPassword !== undefined && typeof out.redisUrl === 'string' && URL.canParse(out.redisUrl) && new URL(out.redisUrl).password !== '') fail('REDIS_PASSWORD', 'cannot be used with a password in REDIS_URL: give it in one place');
  } else {
    if (given.length > 0) fail(given[0]!, 'is used only by the scale-out deployment (CHAT_DEPLOYMENT=embedded was chosen)');
    for (const [k, name] of SCALEOUT_CREDENTIALS) if (out[k] !== undefined) fail(name, 'is used only by the scale-out deployment');
  }
  if ((out.jwtAccessSecret === undefined || out.jwtRefreshSecret === undefined) && out.dataDir !== undefined && out.deployment !== 'scaleout') {
    const hadFile = fs.existsSync(path.join(out.dataDir as string, SECRETS_FILE));
    const secrets = attempt(() => loadSecrets(out.dataDir as string, opts.persistSecrets ?? false), {} as ReturnType<typeof loadSecrets>);
    for (const k of ['jwtAccessSecret', 'jwtRefreshSecret'] as const) {
      if (out[k] === undefined && secrets[k]) {
        out[k] = secrets[k];
        sources[k] = hadFile ? 'data dir' : 'generated';
        origins[k] = hadFile ? `read from ${path.join(out.dataDir as string, SECRETS_FILE)}` : `generated into ${out.dataDir as string}`;
      }
    }
  }
  if (out.jwtAccessSecret !== undefined && out.jwtAccessSecret === out.jwtRefreshSecret) fail('JWT_REFRESH_SECRET', 'must differ from JWT_ACCESS_SECRET');
  return { config: Object.freeze(out) as unknown as Config, sources, configFile, envFile: opts.envFile, origins, warnings, errors };
}

/**
 * Where each secret that is set came from, for chatd's start line: "secrets generated into DIR"
 * when both JWT secrets were, else each one by name and origin.
 */
export function describeSecretOrigins(loaded: LoadedConfig): string {
  const { sources, origins, config } = loaded;
  if (sources.jwtAccessSecret === sources.jwtRefreshSecret && (sources.jwtAccessSecret === 'generated' || sources.jwtAccessSecret === 'data dir')) {
    return sources.jwtAccessSecret === 'generated' ? `secrets generated into ${config.dataDir}` : `secrets read from ${config.dataDir}`;
  }
  const named = (Object.entries(FIELDS) as [ConfigKey, FieldSpec][]).filter(([k, spec]) => spec.secret && origins[k] !== undefined);
  return `secrets: ${named.map(([k, spec]) => `${spec.env} from ${origins[k]}`).join(', ')}`;
}

/** The effective configuration as printable rows, secrets masked. */
export function describeConfig(loaded: LoadedConfig): { key: string; env: string; value: string; source: Source; description: string; error?: string }[] {
  return (Object.entries(FIELDS) as [ConfigKey, FieldSpec][]).map(([key, spec]) => {
    const v = (loaded.config as unknown as Record<string, unknown>)[key];
    let shown: string;
    if (v === undefined) shown = '(unset)';
    else if (spec.secret) shown = '********';
    else shown = Array.isArray(v) ? v.join(',') : String(v);
    const error = loaded.errors.find((e) => errorConcerns(e, key, spec))?.reason;
    return { key, env: spec.env, value: shown, source: loaded.sources[key], description: spec.description, ...(error ? { error } : {}) };
  });
}

/** A setting's command-line flag as problems name it (`--data-dir`). */
const flagName = (key: string, spec: { flag?: string }) => `--${spec.flag?.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()) ?? key}`;

/** Whether a problem is about this setting: by its name, in a file, as its _FILE variant or as its flag. */
export function errorConcerns(e: ConfigError, key: string, spec: { env: string; flag?: string }): boolean {
  const s = e.setting;
  return s === spec.env || s.endsWith(`: ${spec.env}`) || s.endsWith(`: ${key}`) || s === `${spec.env}_FILE` || (spec.flag !== undefined && s === flagName(key, spec));
}
