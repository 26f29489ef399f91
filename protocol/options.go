package protocol

import (
	"io"
	"log/slog"
	"time"

	"github.com/chorus-im/chorus/internal/legacyv1"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	snapshots     bool // every add Welcome carries a snapshot, even when the log is smaller (tests)
	logger        *slog.Logger
	rand          io.Reader
	now           func() time.Time
	buckets       uint32
	retryBase     time.Duration
	syncInterval  time.Duration
	historyWindow time.Duration
	missingGrace  time.Duration
	repeats       int
	epochs        bool
	v1            bool // WithKeyScheduleV1: epochs false is allowed
	deviceName    string
	platform      string
	spread        time.Duration
	healGrace     time.Duration
}

// WithLogger sets the logger (nil: discard). The engine never logs plaintext or keys.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRand sets the randomness source (nil: crypto/rand). For deterministic tests only.
func WithRand(r io.Reader) Option { return func(o *options) { o.rand = r } }

// WithClock sets the clock (nil: time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithGroupTopicBuckets makes new groups share one of n topics (0, the default: one topic
// per group). See topics.GroupTopic.
func WithGroupTopicBuckets(n uint32) Option { return func(o *options) { o.buckets = n } }

// WithRetryBackoff sets the delay before the second publish attempt; each further
// attempt waits twice as long (default 2s).
func WithRetryBackoff(d time.Duration) Option { return func(o *options) { o.retryBase = d } }

// WithSyncInterval sets how often Run fetches history and checks for missing messages
// (default 1 minute; 0 keeps the default, negative disables periodic syncs).
func WithSyncInterval(d time.Duration) Option { return func(o *options) { o.syncInterval = d } }

// WithHealGrace sets how long an installation waits for the designated installation's
// heal of an unhealed epoch before the next candidate heals it (default DefaultHealGrace;
// the k-th candidate waits k times it; negative: never — only the designated installation
// heals, and a send heals first).
func WithHealGrace(d time.Duration) Option { return func(o *options) { o.healGrace = d } }

// DefaultHealGrace is the default of WithHealGrace.
const DefaultHealGrace = 5 * time.Second

// WithHistoryWindow sets how far back the first sync of a topic looks (default 24h).
func WithHistoryWindow(d time.Duration) Option { return func(o *options) { o.historyWindow = d } }

// WithRotationRepeats sets how many following messages repeat a rotation block (default
// RotationRepeats; 0 disables). Each repeat costs the block's bytes again; it lets a
// recipient that lost the first copy read the sender without a history store.
func WithRotationRepeats(n int) Option { return func(o *options) { o.repeats = max(n, 0) } }

// WithEpochs(true) keeps the default: the groups this client creates use key schedule v2
// (spec: protocol, "Key schedule v2 (epochs)"). New refuses WithEpochs(false)
// (ErrLegacySchedule): key schedule v1 keeps one group secret for life, which a removed
// member keeps (issue 19 item 2), so no application creates v1 groups; v1 is kept for the
// groups older versions stored and joined (a Welcome's schedule decides). This module's
// own tests and simulation create v1 groups with WithKeyScheduleV1.
func WithEpochs(on bool) Option { return func(o *options) { o.epochs = on } }

// WithKeyScheduleV1 makes the client create groups of key schedule v1, for this module's
// tests of the v1 code path and the v1 column of `chorus bench scale`: its token comes from
// an internal package (internal/legacyv1), so applications cannot. A zero token changes
// nothing.
func WithKeyScheduleV1(t legacyv1.Token) Option {
	return func(o *options) {
		if t.Valid() {
			o.epochs, o.v1 = false, true
		}
	}
}

// WithDevice sets this installation's metadata: a name people recognise ("Alice's
// laptop") and its platform (default runtime.GOOS). It is recorded when the installation
// is created (CreateAccount, ImportAccount, LinkCode) and travels only encrypted to the
// account's own installations.
func WithDevice(name, platform string) Option {
	return func(o *options) { o.deviceName, o.platform = name, platform }
}

// WithMissingGrace sets how long a gap must persist before it is reported missing
// (default 0: at the first sync that still sees it after a history fetch).
func WithMissingGrace(d time.Duration) Option { return func(o *options) { o.missingGrace = d } }
