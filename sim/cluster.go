package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/internal/legacyv1"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// installation is one simulated installation: its own account (the engine has one
// installation per account for now, so a member with D devices is D accounts), store,
// memory node behind a gatedNode, and client.
type installation struct {
	idx     int
	member  int
	dev     int
	name    string
	path    string // store file; "" is ":memory:"
	store   *persistence.Store
	node    *memory.Node
	tr      *gatedNode
	c       *protocol.Client
	account string
	inst    protocol.InstallationID
	live    bool

	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	dropped atomic.Int64 // events the engine dropped for our subscriber
}

// cluster is the simulated network and its installations.
type cluster struct {
	idle  float64 // process CPU per wall-clock second while nothing is processed
	net   *memory.Network
	big   *oversize
	tr    *tracker
	insts []*installation
	log   *slog.Logger
	// gid is the scenario's group, once created (a stall's diagnosis reads it); rx logs
	// receipts while an operation is measured (diagnose.go).
	gid protocol.GroupID
	rx  atomic.Pointer[rxLog]
	// schedule is the key schedule the clients create groups with (1 or 2).
	schedule int
	// watched are the accounts whose additions and removals the tracker records (nil:
	// every account). A creation adds every member and each installation reports each
	// addition: recording them all is N² entries (83 MiB at N=1000, counted in the
	// installations' heap), and the scenario only waits for the newcomer and the removed.
	watched atomic.Pointer[map[string]bool]
	// prof writes CPU profiles of the admin's ordinary messages (nil: none).
	prof *cpuProfiler
	// attr reads the counters of the measured intervals (attrib.go; nil: CPU only).
	attr *attrSampler
	// acting is set while a sender's call is measured; harnessInAct counts the harness's
	// own work found inside such an interval (scenario.members: it must run before).
	acting       atomic.Bool
	harnessInAct atomic.Int64
	// measures and collections count measure calls and the collections they forced;
	// numGC is the runtime's count after the last one.
	measures, collections int
	numGC                 uint32
}

// watch restricts the recorded additions and removals to those of accounts.
func (cl *cluster) watch(accounts ...string) {
	m := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		m[a] = true
	}
	cl.watched.Store(&m)
}

// isWatched reports whether the additions and removals of account are recorded.
func (cl *cluster) isWatched(account string) bool {
	m := cl.watched.Load()
	return m == nil || (*m)[account]
}

func newCluster(log *slog.Logger, schedule int) *cluster {
	// v1: no history store: every client is subscribed before anything is sent to it
	// (its Welcome carries everything), and a store would keep every payload of the run
	// in memory. v2: a creation's events and device lists are published once on the group
	// topic before the members know it; they fetch them from the store when they join
	// (spec: "Welcome v2"), so the store is on, and payloads travel by value (a stashed
	// payload is fetched by live subscriptions only).
	cl := &cluster{attr: newAttrSampler(), net: memory.NewNetwork(memory.Config{History: schedule == 2}), big: newOversize(), tr: newTracker(), log: log,
		schedule: schedule}
	cl.big.byValue = schedule == 2
	return cl
}

// clientOptions keep the clients quiet between measured steps: no periodic sync, and the
// retry loop only wakes every half hour (publishes never fail on the memory network
// unless a payload is too large, and those are counted).
func clientOptions(schedule int) []protocol.Option {
	// Each shape runs twice: the engine on key schedule v1 and on v2 (the comparison
	// table's columns); the package-level v2 figures are measured on package epoch (v2.go).
	opts := []protocol.Option{protocol.WithRetryBackoff(time.Hour), protocol.WithSyncInterval(-1),
		protocol.WithBurstSpread(0), // the steps measure each operation at once (the spread's latency: privacy.go)
		protocol.WithHealGrace(-1)}  // and its own heals only: on a loaded machine an overdue heal would add one
	if schedule != 2 {
		opts = append(opts, protocol.WithKeyScheduleV1(legacyv1.Permit())) // legacy: only this module may
	}
	return opts
}

// add creates installation idx: with a new account if primary, else waiting to be linked
// (its link code is returned).
func (cl *cluster) add(ctx context.Context, idx, member, dev int, path string, primary bool) (*installation, string, error) {
	in := &installation{idx: idx, member: member, dev: dev, name: fmt.Sprintf("m%d.d%d", member, dev), path: path}
	store := ":memory:"
	if path != "" {
		store = path
	}
	var err error
	if in.store, err = persistence.Open(store); err != nil {
		return nil, "", err
	}
	in.node = cl.net.Join(in.name)
	in.tr = &gatedNode{node: in.node, gate: newGate(), big: cl.big, idx: idx, rx: &cl.rx, onSubscribe: func(topic string) {
		cl.tr.hit(idx, key{kind: kindSubscribed, s: topic})
	}}
	opts := append(clientOptions(cl.schedule), protocol.WithDevice(in.name, "sim"))
	if in.c, err = protocol.New(ctx, in.store, in.tr, opts...); err != nil {
		in.close()
		return nil, "", err
	}
	cl.insts = append(cl.insts, in)
	if !primary {
		code, err := in.c.LinkCode(ctx)
		return in, code, err
	}
	info, err := in.c.CreateAccount(ctx)
	if err != nil {
		return nil, "", err
	}
	in.account, in.inst = info.ID, info.Installation
	return in, "", nil
}

// start subscribes to the client's events and runs it, with its gate open.
func (cl *cluster) start(in *installation) {
	in.tr.gate.set(true)
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel, in.done, in.live = cancel, make(chan struct{}), true
	evs := in.c.Subscribe(ctx)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for ev := range evs {
			cl.observe(in, ev)
		}
	}()
	go func() {
		defer close(in.done)
		in.runErr = in.c.Run(ctx)
		<-collected
	}()
}

func (cl *cluster) observe(in *installation, ev protocol.Event) {
	switch e := ev.(type) {
	case *protocol.MessageReceived:
		cl.tr.hit(in.idx, key{kind: kindMessage, id: e.Message.ID})
		if e.Message.Content.Type == protocol.ContentDevices {
			cl.tr.hit(in.idx, key{kind: kindDevices, id: e.Message.Group, s: e.Message.Sender})
		}
	case *protocol.AccountLinked:
		cl.tr.hit(in.idx, key{kind: kindLinked})
	case *protocol.GroupJoined:
		cl.tr.hit(in.idx, key{kind: kindJoined, id: e.Group})
	case *protocol.MembershipChanged:
		for _, m := range e.MembersAdded {
			if cl.isWatched(m) {
				cl.tr.hit(in.idx, key{kind: kindAdded, id: e.Group, s: m})
			}
		}
		for _, m := range e.MembersRemoved {
			if cl.isWatched(m) {
				cl.tr.hit(in.idx, key{kind: kindRemoved, id: e.Group, s: m})
			}
		}
	case *protocol.EventsDropped:
		in.dropped.Add(int64(e.Count))
	}
}

// stop stops Run and closes the client, node and store (idempotent).
func (in *installation) stop() error {
	if in.cancel != nil {
		in.cancel()
		<-in.done
		in.cancel = nil
	}
	in.close()
	if in.runErr != nil && !errors.Is(in.runErr, context.Canceled) {
		return in.runErr
	}
	return nil
}

func (in *installation) close() {
	if in.c != nil {
		in.c.Close()
	}
	if in.node != nil {
		in.node.Close()
	}
	if in.store != nil {
		in.store.Close()
	}
}

// retire closes a non-live installation's client: its account and device lists stay known to
// the others, it just never processes anything (an offline device).
// An installation started only to be linked is stopped first.
func (in *installation) retire() {
	_ = in.stop()
	in.c, in.store, in.node, in.live = nil, nil, nil, false
}

// waitBound waits until prim's device list carries the binding of its installation id: the
// linked installation answered and prim announced it (spec: "Linking").
func waitBound(ctx context.Context, prim *installation, id protocol.InstallationID, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		code, err := prim.c.ContactCode(ctx)
		if err != nil {
			return err
		}
		cc, err := protocol.ParseContactCode(code)
		if err != nil {
			return err
		}
		list, err := devicelist.Parse(cc.DeviceList)
		if err != nil {
			return err
		}
		for _, e := range list.Entries {
			if e.ID == id && e.Binding != nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sim: %s did not get the binding of %x", prim.name, id[:4])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// close stops every installation and the network.
func (cl *cluster) close() error {
	var first error
	for _, in := range cl.insts {
		if err := in.stop(); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", in.name, err)
		}
	}
	cl.net.Close()
	return first
}

// stats returns the network's counters with the out-of-band payloads at their real size.
func (cl *cluster) stats() memory.Stats {
	s := cl.net.Stats()
	s.Bytes += cl.big.extra.Load()
	return s
}

// maxPayload is the largest payload published so far.
func (cl *cluster) maxPayload() int64 { return cl.big.largest.Load() }

// setGates opens or closes the gates of the given installations (nil: all live).
func (cl *cluster) setGates(open bool, idx []int) {
	if idx == nil {
		for _, in := range cl.insts {
			if in.live {
				in.tr.gate.set(open)
			}
		}
		return
	}
	for _, i := range idx {
		cl.insts[i].tr.gate.set(open)
	}
}

// waitSubscribed waits until in's client subscribed to something (it is listening).
func (cl *cluster) waitSubscribed(ctx context.Context, in *installation, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for in.tr.subs.Load() < 1 {
		if time.Now().After(deadline) {
			return fmt.Errorf("sim: %s did not subscribe", in.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// waitStarted waits until every live installation subscribed, then until the process is
// idle (announcements, link traffic).
func (cl *cluster) waitStarted(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, in := range cl.insts {
		if !in.live {
			continue
		}
		for {
			if in.tr.subs.Load() >= 1 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sim: %s did not start", in.name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return cl.quiesce(ctx, true)
}

// calibrate closes every gate and measures the process's CPU use while nothing is sent
// (idle goroutines, the Go runtime); receive windows subtract it.
func (cl *cluster) calibrate(ctx context.Context) error {
	if err := cl.quiesce(ctx, true); err != nil {
		return err
	}
	cl.setGates(false, nil)
	cl.idle = cl.idleRate(200 * time.Millisecond)
	return nil
}

// quiesce waits until the process is idle: less than 5% of one core over quietWindow,
// and, if drain, every live client has been handed everything that reached it (its
// gate must be open).
func (cl *cluster) quiesce(ctx context.Context, drain bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if drain && cl.pending() > 0 {
			time.Sleep(quietWindow)
			continue
		}
		if cl.idleRate(quietWindow) < 0.05 && (!drain || cl.pending() == 0) {
			return nil
		}
	}
	return fmt.Errorf("sim: the clients did not go idle (%d envelopes pending)", cl.pending())
}

// pending is the number of envelopes the live clients have not been handed yet.
func (cl *cluster) pending() int64 {
	var n int64
	for _, in := range cl.insts {
		if in.live && in.tr != nil {
			n += in.tr.pending.Load()
		}
	}
	return n
}

const quietWindow = 5 * time.Millisecond

// idleRate is the process CPU per wall nanosecond over d with nothing to process.
func (cl *cluster) idleRate(d time.Duration) float64 {
	c0, w0 := processCPU(), time.Now()
	time.Sleep(d)
	return float64(processCPU()-c0) / float64(time.Since(w0))
}

func storePath(dir string, in int) string { return filepath.Join(dir, fmt.Sprintf("inst%d.db", in)) }
