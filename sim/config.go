package sim

import (
	"log/slog"
	"time"
)

// ScaleConfig says which groups RunScale simulates and how it samples them.
type ScaleConfig struct {
	// Sizes are the member counts N (default 10, 100, 400).
	Sizes []int
	// Devices are the installation counts per member D (default 1, 3).
	Devices []int
	// Schedules are the key schedules each shape runs under: 1 (v1, senderkeys) and 2
	// (v2, epochs) (default both, v1 first).
	Schedules []int
	// Messages is the number of ordinary messages the admin sends and each measured
	// (default 5); every speaker also sends one ordinary message.
	Messages int
	// Speakers is how many remaining senders (the admin included) speak after a
	// removal, each rotating its sender key (default 4). 0 or a value >= N-2 means every
	// remaining member that can: N-2.
	Speakers int
	// SerialSample is how many receivers of each message are measured one at a time
	// (default 8); the others process in parallel.
	SerialSample int
	// MaxLive bounds the installations that run a client (default 1300). Above it only
	// a sample runs (see the package doc); the others are real accounts whose clients
	// were closed after their contact code was taken, so every slot and Welcome is still
	// built and published for them, but nobody processes it.
	MaxLive int
	// DiskSample is the number of installations (admin, a speaker, a silent member)
	// with file-backed stores whose size is reported (default 3; negative: none).
	DiskSample int
	// Dir holds the file-backed stores (default: a temporary directory, removed after).
	Dir string
	// FileStores gives every installation a file-backed store (default: only the
	// DiskSample ones; the others are :memory:, whose pages count in the process's RSS).
	FileStores bool
	// Text is the size of each message's text in bytes (default 100).
	Text int
	// Timeout bounds every wait for the installations to process a step (default 10m).
	Timeout time.Duration
	openNs  float64 // senderkeys Open, once measured

	// HeapProfile, if set, is a file name prefix: each run writes the Go heap profile taken
	// where Memory is measured to PREFIX.nN.dD.vS.heap (go tool pprof).
	HeapProfile string
	// CPUProfile, if set, is a file name prefix: each run writes CPU profiles of the
	// admin's ordinary group messages, per message K the sender's call to
	// PREFIX.nN.dD.vS.msg.tx.K.cpu and its receivers measured alone to
	// PREFIX.nN.dD.vS.msg.rx.K.cpu (go tool pprof merges several files).
	CPUProfile string
	// Windows, if set (and CPUProfile not), is a file name prefix: each run writes only
	// the intervals of those measurements to PREFIX.nN.dD.vS.msg.windows, to select the
	// samples of a profiler that runs outside the process (perf record -k CLOCK_MONOTONIC).
	Windows string

	// NoFloor skips measuring senderkeys Seal and Open (about 3 s), e.g. in tests.
	NoFloor bool
	// Logger receives progress (nil: none).
	Logger *slog.Logger
}

func (c ScaleConfig) withDefaults() ScaleConfig {
	if len(c.Sizes) == 0 {
		c.Sizes = []int{10, 100, 400}
	}
	if len(c.Devices) == 0 {
		c.Devices = []int{1, 3}
	}
	if len(c.Schedules) == 0 {
		c.Schedules = []int{1, 2}
	}
	if c.Messages <= 0 {
		c.Messages = 5
	}
	if c.Speakers <= 0 {
		c.Speakers = 4
	}
	if c.SerialSample <= 0 {
		c.SerialSample = 8
	}
	if c.MaxLive <= 0 {
		c.MaxLive = 1300
	}
	if c.DiskSample == 0 {
		c.DiskSample = 3
	}
	if c.Text <= 0 {
		c.Text = 100
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Report is the outcome of RunScale.
type Report struct {
	// Machine describes where it ran (cores, Go version, OS/arch).
	Machine string
	// CPUMethod says how CPU time was read.
	CPUMethod string
	// SealNs and OpenNs are senderkeys Seal and Open of a plaintext of PlaintextSize
	// bytes, measured in the same process before the scenarios (the per-message floor).
	SealNs, OpenNs float64
	// StateOpenNs is Open plus the receiver state's UnmarshalBinary and MarshalBinary,
	// as the engine does it for every message.
	StateOpenNs float64
	// ColdOpenNs is Open after a sleep as long as a receive window's settle (the median
	// of a few): what the caches leave of Open's speed for a receiver measured alone,
	// whose process was idle before its window (0 in reports from before it was measured).
	ColdOpenNs float64 `json:",omitempty"`
	// PlaintextSize is the group plaintext size used for SealNs/OpenNs.
	PlaintextSize int
	// Load is the machine's load average (1 min) at the start and at the end: other
	// processes share the cores (CPU times are per thread/process, wall times suffer).
	LoadStart, LoadEnd string
	// SerialSample is the configured number of receivers measured alone per step.
	SerialSample int
	// Runs has one entry per (N, D).
	Runs []*Run
}

// Failed lists every failed hard check of every run.
func (r *Report) Failed() []string { return r.failed(false) }

// AboveTarget lists every failed soft check of every run.
func (r *Report) AboveTarget() []string { return r.failed(true) }

func (r *Report) failed(soft bool) []string {
	var out []string
	for _, run := range r.Runs {
		for _, c := range run.Checks {
			if !c.OK && c.Soft == soft {
				out = append(out, run.Name()+": "+c.Name+": "+c.Detail)
			}
		}
	}
	return out
}

// Run is the measurement of one group size N with D installations per member.
type Run struct {
	N, D int
	// Schedule is the key schedule the clients ran (1 or 2; 0 in reports from before v2
	// runs: 1).
	Schedule int
	// Installations is N×D: the group's installations after creation.
	Installations int
	// Live is how many installations ran a client; Sampled is Live < Installations+D.
	Live    int
	Sampled bool
	// Speakers is the number of remaining senders that spoke after the removal.
	Speakers int
	// Setup is the wall time to create the accounts and start the clients.
	Setup time.Duration
	// IdleCPU is the process CPU per wall second with every client idle (subtracted
	// from the receive windows).
	IdleCPU float64
	// Measures is the number of measured operations; Collections is how many of them
	// began with a collection forced by the harness (cluster.collectIfDue).
	Measures, Collections int

	Create   Step // CreateGroup: Welcome to every installation
	Message  Step // ordinary group message (sender key already distributed)
	First    Step // a member's first message: its key to every installation (X3DH slots)
	Add      Step // AddMembers of one member (D installations): the event, to existing installations
	Welcome  Step // the same AddMembers, as seen by the newcomer's installations (Welcome)
	Lazy     Step // an existing sender's next message after the add (slots for the newcomer)
	Remove   Step // RemoveMembers of one member: the event
	Rotate   Step // each speaking remaining sender's next message: new key to every remaining installation
	Repeat   Step // the two messages after a first message or a rotation, which carry its block again
	Converge Converge
	// Revoke is RevokeInstallation of one of a member's installations (D > 1): the new
	// device list sent to the group (which rotates the revoker's key); RevokeRotate each
	// speaker's next message, rotating away from the revoked installation.
	Revoke, RevokeRotate Step

	Memory Memory
	// DeviceListSizes are the members' device lists (bytes, with D installations each), account
	// order (the admin first); the key schedule v2 creation figure is computed from them.
	DeviceListSizes []int
	// V2 are the key schedule v2 figures for this shape (package epoch, measured beside
	// the run; the engine still runs v1).
	V2 V2
	// Privacy is what issue 19's padding and burst spreading cost this shape (v2 runs).
	Privacy Privacy
	// Oversize is the number of publishes above transport.MaxPayload and Largest the
	// largest payload published.
	Oversize, Largest int64
	// Err is why the run stopped early ("" if it completed).
	Err    string
	Checks []Check
}

// Name is "N=…, D=…".
func (r *Run) Name() string { return "N=" + itoa(r.N) + " D=" + itoa(r.D) + " " + r.scheduleName() }

// scheduleName is "v1" or "v2".
func (r *Run) scheduleName() string {
	if r.Schedule == 2 {
		return "v2"
	}
	return "v1"
}

// Step aggregates the measured operations of one kind.
type Step struct {
	// Ops is how many operations were measured.
	Ops int
	// Publishes and Bytes are per operation, over the whole network.
	Publishes, Bytes float64
	// MaxPublishes is the largest publish count of one operation.
	MaxPublishes int64
	// SenderCPU is the acting installation's CPU per operation (thread CPU of the API
	// call, transport publish excluded); SenderWall its wall time.
	SenderCPU, SenderWall time.Duration
	// Receivers is the number of live installations that processed each operation.
	Receivers int
	// RxBytes is the bytes that reached each receiving installation per operation.
	RxBytes float64
	// RxSerial is the median CPU of one receiving installation measured alone (process
	// CPU over its processing window); RxSerialMax the largest such sample.
	RxSerial, RxSerialMax time.Duration
	// RxParallel is the process CPU per installation while the other receivers processed
	// all at once (0 when every receiver was measured alone).
	RxParallel time.Duration
	// Wall is the wall time from the call until every live receiver had processed it
	// (all clients share this machine's cores: not a network latency).
	Wall time.Duration
	// PublishErrors counts failed publishes.
	PublishErrors int64
	// Oversize counts publishes above transport.MaxPayload (Waku refuses them; the
	// simulation carried them out of band to measure the rest).
	Oversize int64
	// TxAttr, RxAttr and EmptyAttr are the means of the counters (attrib.go) of the
	// sender's calls, of the receive windows measured alone (CPU: as RxSerial, net of the
	// harness's share) and of the empty windows that share is measured in (CPU: whole).
	TxAttr, RxAttr, EmptyAttr Attr

	txAttrs, rxAttrs, emptyAttrs []Attr
	serial                       []time.Duration
	parallel                     []time.Duration
	walls                        []time.Duration
	cpu                          []time.Duration
	swall                        []time.Duration
	rx                           []float64
	pubs                         []int64
	bytes                        []int64
}

// Converge is a free-running removal: all gates open, the admin removes a member and
// every speaker sends as soon as it has processed the removal.
type Converge struct {
	// Wall is the time from RemoveMembers until every live remaining installation had
	// every speaker's first post-removal message.
	Wall time.Duration
	// CPU is the process CPU spent meanwhile; CPUPerInstallation divides it by the live
	// remaining installations.
	CPU, CPUPerInstallation time.Duration
	// Publishes and Bytes over the network for the removal and the speakers' messages.
	Publishes, Bytes int64
	// Estimate is what one device would see on its own hardware: the slowest speaker's
	// send CPU plus the slowest measured receiver's removal and rotation CPU (no network
	// latency; the simulation's Wall shares two cores among every client).
	Estimate time.Duration
}

// Memory is the state per installation.
type Memory struct {
	// GoHeap and RSS are the growth of the Go heap and of the process's resident set
	// from before the accounts were created to the end of the run, per live installation.
	GoHeap, RSS int64
	// Simulation is the part of GoHeap the simulation itself holds (its bookkeeping and
	// the in-memory network; simulationHeap), measured with a heap profile (-memprofile);
	// 0: not measured.
	Simulation int64 `json:",omitempty"`
	// FileStores: every installation's store was a file (Config.FileStores), so RSS
	// does not include :memory: databases.
	FileStores bool `json:",omitempty"`
	// Disk lists the file-backed installations' store sizes at the end.
	Disk []DiskUsage
}

// DiskUsage is one file-backed store at the end of a run.
type DiskUsage struct {
	Role  string
	Bytes int64 // database file after close (WAL checkpointed)
	// Rows and Bytes per table (blob and text columns summed).
	Tables []TableUsage
}

// TableUsage is one table of a store.
type TableUsage struct {
	Name  string
	Rows  int64
	Bytes int64
}

// Check is an assertion of a run. A failed hard check (Soft false) is a failed run; a
// failed soft check is a figure above its target, reported with the tables.
type Check struct {
	Name   string
	OK     bool
	Soft   bool
	Detail string
}
