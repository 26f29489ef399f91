package sim

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// roles are the installation indices with a part in the scenario. Member m's device d is
// installation m*D+d; member N is the newcomer.
type roles struct {
	n, d     int
	admin    int
	speakers []int // device 0 of members 0..k-1 (admin first)
	victim   int   // member N-1: removed in the measured removal
	victim2  int   // member N-2: removed in the free-running removal
	newcomer int   // member N
	disk     []int // file-backed stores
}

func (r roles) member(m int) []int {
	out := make([]int, r.d)
	for d := range out {
		out[d] = m*r.d + d
	}
	return out
}

func newRoles(n, d, speakers, disk int) roles {
	r := roles{n: n, d: d, victim: n - 1, victim2: n - 2, newcomer: n}
	k := min(max(speakers, 1), n-2)
	for m := 0; m < k; m++ {
		r.speakers = append(r.speakers, m*d)
	}
	// Disk: the admin, a speaker, a silent member (device 0 of each).
	cands := []int{0}
	if k > 1 {
		cands = append(cands, d)
	}
	if silent := n - 3; silent >= k {
		cands = append(cands, silent*d)
	}
	for i := 0; i < min(disk, len(cands)); i++ {
		r.disk = append(r.disk, cands[i])
	}
	return r
}

// liveSet chooses which installations run a client: all of them if they fit maxLive,
// otherwise every installation with a role plus others spread evenly over the group.
func liveSet(r roles, maxLive int) map[int]bool {
	total := (r.n + 1) * r.d
	live := map[int]bool{}
	if total <= maxLive {
		for i := 0; i < total; i++ {
			live[i] = true
		}
		return live
	}
	live[r.admin] = true
	for _, s := range r.speakers {
		live[s] = true
	}
	for _, m := range []int{r.victim, r.victim2, r.newcomer} {
		for _, i := range r.member(m) {
			live[i] = true
		}
	}
	for _, i := range r.disk {
		live[i] = true
	}
	need := maxLive - len(live)
	others := []int{}
	for i := 0; i < r.n*r.d; i++ {
		if !live[i] {
			others = append(others, i)
		}
	}
	for j := 0; j < need && j < len(others); j++ {
		live[others[j*len(others)/need]] = true
	}
	return live
}

// runOne simulates one (N, D).
func runOne(ctx context.Context, cfg ScaleConfig, n, d int) (run *Run, err error) {
	if n < 4 {
		return nil, fmt.Errorf("sim: N=%d: at least 4 members are needed (admin, a speaker, two removed)", n)
	}
	log := cfg.Logger.With("N", n, "D", d)
	r := newRoles(n, d, cfg.Speakers, cfg.DiskSample)
	live := liveSet(r, cfg.MaxLive)
	run = &Run{N: n, D: d, Installations: n * d, Live: len(live), Sampled: len(live) < (n+1)*d, Speakers: len(r.speakers)}

	dir := cfg.Dir
	if len(r.disk) > 0 && dir == "" {
		if dir, err = os.MkdirTemp("", "chorus-scale-"); err != nil {
			return run, err
		}
		defer os.RemoveAll(dir)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rss0 := residentBytes()

	cl := newCluster(log)
	defer func() {
		if cerr := cl.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t0 := time.Now()
	total := (n + 1) * d
	var admin *installation
	for i := 0; i < total; i++ {
		path := ""
		if slices.Contains(r.disk, i) {
			path = storePath(dir, i)
		}
		in, err := cl.add(ctx, i, i/d, i%d, path)
		if err != nil {
			return run, fmt.Errorf("sim: account %d: %w", i, err)
		}
		if i == 0 {
			admin = in
		} else {
			code, err := in.c.ContactCode(ctx)
			if err != nil {
				return run, err
			}
			if _, err := admin.c.AddContact(ctx, code); err != nil {
				return run, err
			}
		}
		if live[i] {
			cl.start(in)
		} else {
			in.retire()
		}
		if (i+1)%200 == 0 {
			log.Info("accounts", "created", i+1, "of", total)
		}
	}
	if err := cl.waitStarted(ctx, cfg.Timeout); err != nil {
		return run, err
	}
	run.Setup = time.Since(t0)
	cl.calibrate()
	run.IdleCPU = cl.idle
	log.Info("setup done", "accounts", total, "live", len(live), "took", run.Setup.Round(time.Millisecond))

	liveOf := func(keep func(i int) bool) []int {
		var out []int
		for i := 0; i < total; i++ {
			if live[i] && keep(i) {
				out = append(out, i)
			}
		}
		return out
	}
	isMember := func(m int) func(int) bool { return func(i int) bool { return i/d == m } }
	not := func(f func(int) bool) func(int) bool { return func(i int) bool { return !f(i) } }
	and := func(fs ...func(int) bool) func(int) bool {
		return func(i int) bool {
			for _, f := range fs {
				if !f(i) {
					return false
				}
			}
			return true
		}
	}
	except := func(j int) func(int) bool { return func(i int) bool { return i != j } }
	check := func(name string, ok bool, format string, args ...any) {
		run.Checks = append(run.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	target := func(name string, ok bool, format string, args ...any) {
		run.Checks = append(run.Checks, Check{Name: name, OK: ok, Soft: true, Detail: fmt.Sprintf(format, args...)})
	}

	// Create: the admin welcomes every other installation of the N members.
	var members []string
	for i := 1; i < n*d; i++ {
		members = append(members, cl.insts[i].account)
	}
	var gid protocol.GroupID
	log.Info("create group")
	res, err := cl.measure(ctx, r.admin, cfg.SerialSample, cfg.Timeout, func() ([]expect, error) {
		var err error
		gid, err = admin.c.CreateGroup(ctx, "scale", "simulated group", members...)
		return []expect{{key{kind: kindJoined, id: gid}, liveOf(and(not(isMember(n)), except(0)))}}, err
	})
	if err != nil {
		return run, fmt.Errorf("sim: create: %w", err)
	}
	run.Create.add(res, 0)
	check("create: every welcome published", res.pubErrs == 0, "%d failed publishes of %d welcomes", res.pubErrs, n*d-1)
	info, err := admin.c.Group(ctx, gid)
	if err != nil {
		return run, err
	}
	topic := key{kind: kindSubscribed, s: info.Topic}
	if err := cl.tr.wait(ctx, topic, liveOf(not(isMember(n))), cfg.Timeout); err != nil {
		return run, err
	}

	joined := false // the newcomer (member N) is in the group
	everyoneBut := func(sender int, gone ...int) []int {
		return liveOf(func(i int) bool {
			return i != sender && (joined || i/d != n) && !slices.Contains(gone, i/d)
		})
	}
	send := func(step *Step, sender int, text string, gone ...int) (protocol.MessageID, error) {
		var id protocol.MessageID
		res, err := cl.measure(ctx, sender, cfg.SerialSample, cfg.Timeout, func() ([]expect, error) {
			var err error
			id, err = cl.insts[sender].c.Send(ctx, gid, protocol.Text(text))
			return []expect{{key{kind: kindMessage, id: id}, everyoneBut(sender, gone...)}}, err
		})
		if err != nil {
			return id, err
		}
		step.add(res, 0)
		return id, nil
	}
	body := func(tag string) string { return pad(tag, cfg.Text) }

	// Ordinary messages from the admin (its key went out with the Welcomes).
	log.Info("ordinary messages")
	for j := 0; j < cfg.Messages; j++ {
		if _, err := send(&run.Message, r.admin, body(fmt.Sprintf("admin %d", j))); err != nil {
			return run, fmt.Errorf("sim: message: %w", err)
		}
	}
	// Each other speaker's first message distributes its key to every installation,
	// then its second message is an ordinary one.
	log.Info("first messages", "speakers", len(r.speakers)-1)
	for _, s := range r.speakers[1:] {
		if _, err := send(&run.First, s, body("first from "+cl.insts[s].name)); err != nil {
			return run, fmt.Errorf("sim: first message: %w", err)
		}
		if _, err := send(&run.Message, s, body("second from "+cl.insts[s].name)); err != nil {
			return run, fmt.Errorf("sim: message: %w", err)
		}
	}
	check("1 publish per group message", run.Message.MaxPublishes == 1 && run.Message.Publishes == 1,
		"ordinary: mean %.2f, max %d publishes over %d messages", run.Message.Publishes, run.Message.MaxPublishes, run.Message.Ops)
	target("1 publish per first message (key distribution)", run.First.Ops == 0 || run.First.MaxPublishes == 1,
		"%d publishes (parts) for %d slots", run.First.MaxPublishes, n*d-1)
	if cfg.openNs > 0 {
		target("group message CPU per receiving installation <= 1.2 x senderkeys Open", float64(run.Message.RxSerial) <= 1.2*cfg.openNs,
			"%s = %.1f x Open (%s)", dur(run.Message.RxSerial), float64(run.Message.RxSerial)/cfg.openNs, dur(time.Duration(cfg.openNs)))
	}

	// Add one member (D installations).
	log.Info("add member")
	var newAccts []string
	for _, i := range r.member(n) {
		newAccts = append(newAccts, cl.insts[i].account)
	}
	res, err = cl.measure(ctx, r.admin, cfg.SerialSample, cfg.Timeout, func() ([]expect, error) {
		err := admin.c.AddMembers(ctx, gid, newAccts...)
		return []expect{
			{key{kind: kindAdded, id: gid, s: newAccts[0]}, liveOf(and(not(isMember(n)), except(0)))},
			{key{kind: kindJoined, id: gid}, r.member(n)},
		}, err
	})
	if err != nil {
		return run, fmt.Errorf("sim: add: %w", err)
	}
	run.Add.add(res, 0)
	run.Welcome.add(res, 1)
	joined = true
	check("add: every publish succeeded", res.pubErrs == 0, "%d failed publishes", res.pubErrs)
	if err := cl.tr.wait(ctx, topic, r.member(n), cfg.Timeout); err != nil {
		return run, err
	}
	// The next message of an existing sender carries its key for the newcomer.
	log.Info("lazy distribution to the newcomer")
	lazySender := r.speakers[min(1, len(r.speakers)-1)]
	if _, err := send(&run.Lazy, lazySender, body("after the add")); err != nil {
		return run, fmt.Errorf("sim: message after add: %w", err)
	}
	check("1 publish for the message after the add", run.Lazy.MaxPublishes == 1, "%d publishes", run.Lazy.MaxPublishes)

	// Remove one member (D installations); then each speaker's next message rotates.
	log.Info("remove member")
	victimAccts := accountsOf(cl, r.member(r.victim))
	res, err = cl.measure(ctx, r.admin, cfg.SerialSample, cfg.Timeout, func() ([]expect, error) {
		err := admin.c.RemoveMembers(ctx, gid, victimAccts...)
		return []expect{{key{kind: kindRemoved, id: gid, s: victimAccts[0]}, liveOf(except(0))}}, err
	})
	if err != nil {
		return run, fmt.Errorf("sim: remove: %w", err)
	}
	run.Remove.add(res, 0)
	check("remove: 1 publish", res.pubs == 1, "%d publishes", res.pubs)
	var after []protocol.MessageID
	log.Info("rotations", "speakers", len(r.speakers))
	for _, s := range r.speakers {
		id, err := send(&run.Rotate, s, body("rotated by "+cl.insts[s].name), r.victim)
		if err != nil {
			return run, fmt.Errorf("sim: rotation: %w", err)
		}
		after = append(after, id)
	}
	target("1 publish per rotation message", run.Rotate.MaxPublishes == 1,
		"max %d publishes (parts) for %d remaining installations", run.Rotate.MaxPublishes, (n+1)*d-d-1)

	// Free-running removal: time to converge.
	log.Info("free-running removal")
	if err := converge(ctx, cl, cfg, r, gid, &run.Converge, liveOf); err != nil {
		return run, fmt.Errorf("sim: converge: %w", err)
	}
	run.Converge.Estimate = run.Remove.SenderCPU + run.Rotate.SenderCPU + run.Remove.RxSerialMax + time.Duration(len(r.speakers))*run.Rotate.RxSerialMax

	// The removed members read nothing sent after their removal.
	stored, err := storedOf(ctx, cl, r.member(r.victim), gid, after)
	if err != nil {
		return run, err
	}
	read := 0
	for _, i := range r.member(r.victim) {
		for _, id := range after {
			if cl.tr.has(i, key{kind: kindMessage, id: id}) {
				read++
			}
		}
	}
	check("removed member reads nothing after removal", read == 0 && stored == 0,
		"%d post-removal messages reported and %d stored by the removed member's installations", read, stored)

	for _, in := range cl.insts {
		if in.dropped.Load() > 0 {
			check("no events dropped", false, "%s: %d events dropped", in.name, in.dropped.Load())
		}
	}

	run.Oversize, run.Largest = cl.big.count.Load(), cl.maxPayload()
	check("every publish fits transport.MaxPayload", run.Oversize == 0,
		"%d publishes above %d B (largest %d B), carried out of band by the simulation; Waku would refuse them", run.Oversize, transport.MaxPayload, run.Largest)

	// Memory.
	runtime.GC()
	debug.FreeOSMemory()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	run.Memory.GoHeap = (int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)) / int64(len(live))
	run.Memory.RSS = (residentBytes() - rss0) / int64(len(live))
	for j, i := range r.disk {
		in := cl.insts[i]
		if err := in.stop(); err != nil {
			return run, err
		}
		role := []string{"admin", "speaker", "silent member"}[j]
		u, err := diskUsage(in.path, role)
		if err != nil {
			return run, err
		}
		run.Memory.Disk = append(run.Memory.Disk, u)
	}
	return run, nil
}

// converge removes victim2 with every gate open; each speaker sends as soon as it has
// processed the removal. It measures the wall time until every live remaining
// installation has every speaker's message.
func converge(ctx context.Context, cl *cluster, cfg ScaleConfig, r roles, gid protocol.GroupID, out *Converge,
	liveOf func(func(int) bool) []int) error {
	d := r.d
	victims := r.member(r.victim2)
	accts := accountsOf(cl, victims)
	remaining := liveOf(func(i int) bool { m := i / d; return m != r.victim && m != r.victim2 })
	cl.setGates(true, nil)
	defer cl.setGates(false, nil)
	net0 := cl.stats()
	c0 := processCPU()
	t0 := time.Now()
	admin := cl.insts[r.admin]
	if err := admin.c.RemoveMembers(ctx, gid, accts...); err != nil {
		return err
	}
	type sent struct {
		id  protocol.MessageID
		err error
	}
	ch := make(chan sent, len(r.speakers))
	for _, s := range r.speakers {
		go func() {
			if s != r.admin {
				if err := cl.tr.wait(ctx, key{kind: kindRemoved, id: gid, s: accts[0]}, []int{s}, cfg.Timeout); err != nil {
					ch <- sent{err: err}
					return
				}
			}
			id, err := cl.insts[s].c.Send(ctx, gid, protocol.Text("after the second removal"))
			ch <- sent{id, err}
		}()
	}
	var ids []protocol.MessageID
	for range r.speakers {
		s := <-ch
		if s.err != nil {
			return s.err
		}
		ids = append(ids, s.id)
	}
	var last time.Time
	for j, id := range ids {
		k := key{kind: kindMessage, id: id}
		want := slices.DeleteFunc(slices.Clone(remaining), func(i int) bool { return i == r.speakers[j] })
		// The speaker of id is excluded above only if ids[j] is its own: ids arrive in
		// completion order, so exclude every speaker and check them separately.
		want = slices.DeleteFunc(want, func(i int) bool { return slices.Contains(r.speakers, i) })
		if err := cl.tr.wait(ctx, k, want, cfg.Timeout); err != nil {
			return err
		}
		for _, i := range want {
			if t, ok := cl.tr.at(i, k); ok && t.After(last) {
				last = t
			}
		}
	}
	out.Wall = last.Sub(t0)
	time.Sleep(settle)
	out.CPU = time.Duration(processCPU() - c0)
	out.CPUPerInstallation = out.CPU / time.Duration(max(len(remaining), 1))
	net1 := cl.stats()
	out.Publishes, out.Bytes = net1.Publishes-net0.Publishes, net1.Bytes-net0.Bytes
	for _, i := range victims {
		for _, id := range ids {
			if cl.tr.has(i, key{kind: kindMessage, id: id}) {
				return fmt.Errorf("sim: removed installation %s read a post-removal message", cl.insts[i].name)
			}
		}
	}
	if n, err := storedOf(ctx, cl, victims, gid, ids); err != nil || n > 0 {
		return fmt.Errorf("sim: the second removed member stores %d post-removal messages (err %v)", n, err)
	}
	return nil
}

func accountsOf(cl *cluster, idx []int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = cl.insts[i].account
	}
	return out
}

// storedOf counts how many of ids each installation stores for the group.
func storedOf(ctx context.Context, cl *cluster, idx []int, gid protocol.GroupID, ids []protocol.MessageID) (int, error) {
	n := 0
	for _, i := range idx {
		msgs, err := cl.insts[i].c.Messages(ctx, gid, protocol.MessageFilter{})
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if slices.Contains(ids, m.ID) {
				n++
			}
		}
	}
	return n, nil
}

func pad(tag string, n int) string {
	if len(tag) >= n {
		return tag[:n]
	}
	return tag + strings.Repeat(".", n-len(tag))
}

func itoa(i int) string { return fmt.Sprint(i) }
