package sim

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// scenario is one (N, D) run in progress.
type scenario struct {
	cfg  ScaleConfig
	log  *slog.Logger
	r    roles
	live map[int]bool
	cl   *cluster
	run  *Run
	gid  protocol.GroupID

	joined bool  // the newcomer (member N) is in the group
	gone   []int // members removed so far
	revoke int   // the revoked installation (-1: none)
}

// runOne simulates one (N, D) with the clients on key schedule schedule (1 or 2).
func runOne(ctx context.Context, cfg ScaleConfig, n, d, schedule int) (*Run, error) {
	if n < 6 {
		return nil, fmt.Errorf("sim: N=%d: at least 6 members are needed (admin, a speaker, a silent member, a revoker, two removed)", n)
	}
	r := newRoles(n, d, cfg.Speakers, cfg.DiskSample)
	live := liveSet(r, cfg.MaxLive)
	sc := &scenario{cfg: cfg, log: cfg.Logger.With("N", n, "D", d, "schedule", schedule), r: r, live: live, revoke: -1,
		run: &Run{N: n, D: d, Schedule: schedule, Installations: n * d, Live: len(live), Sampled: len(live) < (n+1)*d, Speakers: len(r.speakers)}}
	err := sc.play(ctx)
	return sc.run, err
}

func (sc *scenario) play(ctx context.Context) (err error) {
	cfg, r, run := sc.cfg, sc.r, sc.run
	dir := cfg.Dir
	if (len(r.disk) > 0 || cfg.FileStores) && dir == "" {
		if dir, err = os.MkdirTemp("", "chorus-scale-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rss0 := residentBytes()
	var sim0 int64
	if cfg.HeapProfile != "" {
		sim0 = simulationHeap()
	}
	sc.cl = newCluster(sc.log, sc.run.Schedule)
	if cfg.CPUProfile != "" {
		sc.cl.prof = &cpuProfiler{prefix: profileName(cfg.CPUProfile, sc.run, "msg"), pprof: true}
	} else if cfg.Windows != "" {
		sc.cl.prof = &cpuProfiler{prefix: profileName(cfg.Windows, sc.run, "msg")}
	}
	defer func() {
		if cerr := sc.cl.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := sc.setup(ctx, dir); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"create", sc.create}, {"messages", sc.messages}, {"add", sc.add}, {"remove", sc.remove},
		{"converge", sc.converge}, {"revoke", sc.revokeDevice},
	}
	for _, st := range steps {
		sc.log.Info(st.name)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("sim: %s: %w", st.name, err)
		}
	}
	run.Measures, run.Collections = sc.cl.measures, sc.cl.collections
	sc.check("no harness work inside a sender's measured call", sc.cl.harnessInAct.Load() == 0,
		"the expected receivers were computed %d times inside the interval", sc.cl.harnessInAct.Load())
	for _, in := range sc.cl.insts {
		if in.dropped.Load() > 0 {
			sc.check("no events dropped", false, "%s: %d events dropped", in.name, in.dropped.Load())
		}
	}
	if st := sc.cl.net.Stats(); st.Overflows > 0 || st.Lost > 0 {
		sc.check("no envelope lost", false, "%d dropped by full subscription queues, %d lost", st.Overflows, st.Lost)
	}
	run.Oversize, run.Largest = sc.cl.big.count.Load(), sc.cl.maxPayload()
	sc.check("every publish fits transport.MaxPayload", run.Oversize == 0,
		"%d publishes above %d B (largest %d B), carried out of band by the simulation; Waku would refuse them", run.Oversize, transport.MaxPayload, run.Largest)

	// Memory.
	runtime.GC()
	debug.FreeOSMemory()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	run.Memory.GoHeap = (int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)) / int64(len(sc.live))
	run.Memory.RSS = (residentBytes() - rss0) / int64(len(sc.live))
	run.Memory.FileStores = cfg.FileStores
	if cfg.HeapProfile != "" {
		run.Memory.Simulation = max(simulationHeap()-sim0, 0) / int64(len(sc.live))
		if err := writeHeapProfile(profileName(cfg.HeapProfile, run, "heap")); err != nil {
			return err
		}
	}
	for j, i := range r.disk {
		in := sc.cl.insts[i]
		if err := in.stop(); err != nil {
			return err
		}
		u, err := diskUsage(in.path, []string{"admin", "speaker", "silent member"}[j])
		if err != nil {
			return err
		}
		run.Memory.Disk = append(run.Memory.Disk, u)
	}
	return nil
}

// setup creates every member: its primary installation (a new account) and D-1
// installations linked to it, and makes every member a contact of the admin.
func (sc *scenario) setup(ctx context.Context, dir string) error {
	cl, r, cfg := sc.cl, sc.r, sc.cfg
	t0 := time.Now()
	total := (r.n + 1) * r.d
	path := func(i int) string {
		if cfg.FileStores || slices.Contains(r.disk, i) {
			return storePath(dir, i)
		}
		return ""
	}
	var admin *installation
	for m := 0; m <= r.n; m++ {
		base := m * r.d
		prim, _, err := cl.add(ctx, base, m, 0, path(base), true)
		if err != nil {
			return fmt.Errorf("sim: account %d: %w", m, err)
		}
		if m == 0 {
			admin = prim
		}
		// Linking needs both installations running: the new one adopts the account and
		// sends its binding back, and only then does prim announce it. Installations that
		// are not live run just for that.
		if sc.live[base] || r.d > 1 {
			cl.start(prim)
		}
		for dv := 1; dv < r.d; dv++ {
			i := base + dv
			in, code, err := cl.add(ctx, i, m, dv, path(i), false)
			if err != nil {
				return fmt.Errorf("sim: installation %d: %w", i, err)
			}
			cl.start(in)
			if err := cl.waitSubscribed(ctx, in, cfg.Timeout); err != nil {
				return err
			}
			id, err := prim.c.LinkDevice(ctx, code, in.name)
			if err != nil {
				return fmt.Errorf("sim: link %s: %w", in.name, err)
			}
			in.account, in.inst = prim.account, id
			if err := cl.tr.wait(ctx, key{kind: kindLinked}, []int{i}, cfg.Timeout); err != nil {
				return err
			}
			if err := waitBound(ctx, prim, id, cfg.Timeout); err != nil {
				return err
			}
			if !sc.live[i] {
				in.retire()
			}
		}
		code, err := prim.c.ContactCode(ctx)
		if err != nil {
			return err
		}
		sc.run.DeviceListSizes = append(sc.run.DeviceListSizes, deviceListSize(code))
		if m > 0 {
			if _, err := admin.c.AddContact(ctx, code); err != nil {
				return err
			}
		}
		if !sc.live[base] {
			prim.retire()
		}
		if (m+1)%100 == 0 {
			sc.log.Info("members", "created", m+1, "of", r.n+1)
		}
	}
	acct := func(m int) string { return cl.insts[m*r.d].account }
	cl.watch(acct(r.newcomer), acct(r.victim), acct(r.victim2))
	if err := cl.waitStarted(ctx, cfg.Timeout); err != nil {
		return err
	}
	if err := cl.calibrate(ctx); err != nil {
		return err
	}
	sc.run.Setup = time.Since(t0)
	sc.run.IdleCPU = cl.idle
	sc.log.Info("setup done", "installations", total, "live", len(sc.live), "took", sc.run.Setup.Round(time.Millisecond))
	return nil
}

func (sc *scenario) check(name string, ok bool, format string, args ...any) {
	sc.run.Checks = append(sc.run.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (sc *scenario) target(name string, ok bool, format string, args ...any) {
	sc.run.Checks = append(sc.run.Checks, Check{Name: name, OK: ok, Soft: true, Detail: fmt.Sprintf(format, args...)})
}

// members returns the live installations that are in the group now, except those
// in but.
func (sc *scenario) members(but ...int) []int {
	if sc.cl.acting.Load() {
		sc.cl.harnessInAct.Add(1) // counted as the sender's: call it before measure
	}
	var out []int
	for i := 0; i < (sc.r.n+1)*sc.r.d; i++ {
		m := i / sc.r.d
		if !sc.live[i] || slices.Contains(but, i) || slices.Contains(sc.gone, m) || i == sc.revoke || (m == sc.r.n && !sc.joined) {
			continue
		}
		out = append(out, i)
	}
	return out
}

// send measures one text message from sender into step.
func (sc *scenario) send(ctx context.Context, step *Step, sender int, tag string) (protocol.MessageID, error) {
	var id protocol.MessageID
	// The receivers and the text are the harness's, chosen before the sender's thread CPU
	// is read: the receivers are a loop over every installation of the group (N × D map
	// lookups and appends, tens of µs at N = 1000 that were counted as the sender's).
	want, text := sc.members(sender), protocol.Text(pad(tag, sc.cfg.Text))
	res, err := sc.cl.measure(ctx, sender, sc.cfg.SerialSample, sc.cfg.Timeout, func() ([]expect, error) {
		var err error
		id, err = sc.cl.insts[sender].c.Send(ctx, sc.gid, text)
		return []expect{{key{kind: kindMessage, id: id}, want}}, err
	})
	if err != nil {
		return id, err
	}
	step.add(res, 0)
	return id, nil
}

// create: the admin creates the group with the other N-1 members (every installation of
// theirs and the admin's other installations get a Welcome).
func (sc *scenario) create(ctx context.Context) error {
	cl, r := sc.cl, sc.r
	var accounts []string
	for m := 1; m < r.n; m++ {
		accounts = append(accounts, cl.insts[m*r.d].account)
	}
	admin := cl.insts[r.admin]
	want := sc.members(r.admin)
	res, err := cl.measure(ctx, r.admin, sc.cfg.SerialSample, sc.cfg.Timeout, func() ([]expect, error) {
		var err error
		sc.gid, err = admin.c.CreateGroup(ctx, "scale", "simulated group", accounts...)
		cl.gid = sc.gid
		return []expect{{key{kind: kindJoined, id: sc.gid}, want}}, err
	})
	if err != nil {
		return err
	}
	sc.run.Create.add(res, 0)
	sc.check("create: every Welcome published", res.pubErrs == 0, "%d failed publishes", res.pubErrs)
	return sc.waitTopic(ctx, sc.members())
}

// waitTopic waits until the installations subscribed to the group's topic.
func (sc *scenario) waitTopic(ctx context.Context, insts []int) error {
	info, err := sc.cl.insts[sc.r.admin].c.Group(ctx, sc.gid)
	if err != nil {
		return err
	}
	err = sc.cl.tr.wait(ctx, key{kind: kindSubscribed, s: info.Topic}, insts, sc.cfg.Timeout)
	return sc.cl.stalled(ctx, err, -1, nil)
}

// messages: ordinary messages from the admin (its key went out with the Welcomes); then
// each other speaker's first message (its key to every installation), the two next ones
// (which repeat that rotation block) and a fourth, ordinary one.
func (sc *scenario) messages(ctx context.Context) error {
	run := sc.run
	if p := sc.cl.prof; p != nil {
		p.on = true
	}
	for j := 0; j < sc.cfg.Messages; j++ {
		if _, err := sc.send(ctx, &run.Message, sc.r.admin, fmt.Sprintf("admin %d", j)); err != nil {
			return err
		}
	}
	if p := sc.cl.prof; p != nil {
		p.on = false
		if err := p.writeWindows(); err != nil {
			return err
		}
	}
	for _, s := range sc.r.speakers[1:] {
		name := sc.cl.insts[s].name
		if _, err := sc.send(ctx, &run.First, s, "first from "+name); err != nil {
			return err
		}
		for j := 0; j < 2; j++ {
			if _, err := sc.send(ctx, &run.Repeat, s, "repeat from "+name); err != nil {
				return err
			}
		}
		if _, err := sc.send(ctx, &run.Message, s, "fourth from "+name); err != nil {
			return err
		}
	}
	sc.check("1 publish per group message", run.Message.MaxPublishes == 1 && run.Message.Publishes == 1,
		"ordinary: mean %.2f, max %d publishes over %d messages", run.Message.Publishes, run.Message.MaxPublishes, run.Message.Ops)
	sc.check("1 publish per message repeating a rotation block", run.Repeat.Ops == 0 || run.Repeat.MaxPublishes == 1,
		"max %d publishes", run.Repeat.MaxPublishes)
	sc.target("1 publish per first message (key distribution)", run.First.Ops == 0 || run.First.MaxPublishes == 1,
		"%d publishes (parts) for %d slots", run.First.MaxPublishes, sc.r.n*sc.r.d-1)
	if open := sc.cfg.openNs; open > 0 {
		sc.target("group message CPU per receiving installation <= 1.2 x senderkeys Open", float64(run.Message.RxSerial) <= 1.2*open,
			"%s = %.1f x Open (%s)", dur(run.Message.RxSerial), float64(run.Message.RxSerial)/open, dur(time.Duration(open)))
	}
	return nil
}

// add: the admin adds the newcomer (one account, D installations); then an existing
// sender's next message carries its key for the newcomer.
func (sc *scenario) add(ctx context.Context) error {
	cl, r := sc.cl, sc.r
	acct := cl.insts[r.newcomer*r.d].account
	existing := sc.members(r.admin)
	res, err := cl.measure(ctx, r.admin, sc.cfg.SerialSample, sc.cfg.Timeout, func() ([]expect, error) {
		err := cl.insts[r.admin].c.AddMembers(ctx, sc.gid, acct)
		return []expect{
			{key{kind: kindAdded, id: sc.gid, s: acct}, existing},
			{key{kind: kindJoined, id: sc.gid}, liveIn(sc.live, r.member(r.newcomer))},
		}, err
	})
	if err != nil {
		return err
	}
	sc.run.Add.add(res, 0)
	sc.run.Welcome.add(res, 1)
	sc.joined = true
	sc.check("add: every publish succeeded", res.pubErrs == 0, "%d failed publishes", res.pubErrs)
	if err := sc.waitTopic(ctx, liveIn(sc.live, r.member(r.newcomer))); err != nil {
		return err
	}
	lazy := r.speakers[min(1, len(r.speakers)-1)]
	if _, err := sc.send(ctx, &sc.run.Lazy, lazy, "after the add"); err != nil {
		return err
	}
	sc.check("1 publish for the message after the add", sc.run.Lazy.MaxPublishes == 1, "%d publishes", sc.run.Lazy.MaxPublishes)
	return nil
}

// remove: the admin removes the victim (one account, D installations); then each
// speaker sends three messages: the rotation and its two repeats.
func (sc *scenario) remove(ctx context.Context) error {
	cl, r, run := sc.cl, sc.r, sc.run
	acct := cl.insts[r.victim*r.d].account
	want := sc.members(r.admin) // the victim still in: it observes its removal too
	res, err := cl.measure(ctx, r.admin, sc.cfg.SerialSample, sc.cfg.Timeout, func() ([]expect, error) {
		err := cl.insts[r.admin].c.RemoveMembers(ctx, sc.gid, acct)
		return []expect{{key{kind: kindRemoved, id: sc.gid, s: acct}, want}}, err
	})
	if err != nil {
		return err
	}
	run.Remove.add(res, 0)
	if sc.run.Schedule == 2 {
		// Key schedule v2: the event and its key block, one publish when they fit together,
		// two when the block alone fills a publish (issue 13: ≤ 2).
		sc.check("remove: at most 2 publishes (event + key block)", res.pubs >= 1 && res.pubs <= 2, "%d publishes", res.pubs)
	} else {
		sc.check("remove: 1 publish", res.pubs == 1, "%d publishes", res.pubs)
	}
	sc.gone = append(sc.gone, r.victim)
	var after []protocol.MessageID
	for _, s := range r.speakers {
		name := cl.insts[s].name
		id, err := sc.send(ctx, &run.Rotate, s, "rotated by "+name)
		if err != nil {
			return err
		}
		after = append(after, id)
		for j := 0; j < 2; j++ {
			id, err := sc.send(ctx, &run.Repeat, s, "rotation repeat by "+name)
			if err != nil {
				return err
			}
			after = append(after, id)
		}
	}
	sc.target("1 publish per rotation message", run.Rotate.MaxPublishes == 1,
		"max %d publishes (parts) for %d remaining installations", run.Rotate.MaxPublishes, (r.n+1)*r.d-r.d-1)
	return sc.readNothing(ctx, "removed member reads nothing after its removal", r.member(r.victim), after)
}

// readNothing checks that the installations neither reported nor stored the messages.
func (sc *scenario) readNothing(ctx context.Context, name string, insts []int, ids []protocol.MessageID) error {
	insts = liveIn(sc.live, insts)
	stored, err := storedOf(ctx, sc.cl, insts, sc.gid, ids)
	if err != nil {
		return err
	}
	read := 0
	for _, i := range insts {
		for _, id := range ids {
			if sc.cl.tr.has(i, key{kind: kindMessage, id: id}) {
				read++
			}
		}
	}
	sc.check(name, read == 0 && stored == 0, "%d of %d later messages reported and %d stored by %d installations", read, len(ids), stored, len(insts))
	return nil
}

// converge: a second removal with every client running freely.
func (sc *scenario) converge(ctx context.Context) error {
	ids, err := converge(ctx, sc, &sc.run.Converge)
	if err != nil {
		return err
	}
	run := sc.run
	run.Converge.Estimate = run.Remove.SenderCPU + run.Rotate.SenderCPU + run.Remove.RxSerialMax + time.Duration(len(sc.r.speakers))*run.Rotate.RxSerialMax
	return sc.readNothing(ctx, "second removed member reads nothing after its removal", sc.r.member(sc.r.victim2), ids)
}

// revokeDevice: the revoker revokes its last installation (D > 1); then each speaker's
// next message rotates its key away from it.
func (sc *scenario) revokeDevice(ctx context.Context) error {
	cl, r, run := sc.cl, sc.r, sc.run
	if r.d < 2 {
		return nil
	}
	revoker, victim := r.revoker*r.d, r.revoker*r.d+r.d-1
	acct := cl.insts[revoker].account
	id := cl.insts[victim].inst
	want := sc.members(revoker, victim)
	res, err := cl.measure(ctx, revoker, sc.cfg.SerialSample, sc.cfg.Timeout, func() ([]expect, error) {
		err := cl.insts[revoker].c.RevokeInstallation(ctx, id)
		return []expect{{key{kind: kindDevices, id: sc.gid, s: acct}, want}}, err
	})
	if err != nil {
		return err
	}
	run.Revoke.add(res, 0)
	sc.revoke = victim
	var after []protocol.MessageID
	for _, s := range r.speakers {
		id, err := sc.send(ctx, &run.RevokeRotate, s, "rotated after the revocation by "+cl.insts[s].name)
		if err != nil {
			return err
		}
		after = append(after, id)
	}
	return sc.readNothing(ctx, "revoked installation reads nothing after its revocation", []int{victim}, after)
}

// liveIn keeps the live installations of insts.
func liveIn(live map[int]bool, insts []int) []int {
	var out []int
	for _, i := range insts {
		if live[i] {
			out = append(out, i)
		}
	}
	return out
}
