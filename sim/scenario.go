package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// roles are the installation indices with a part in the scenario. Member m's device d is
// installation m*D+d; member N is the newcomer.
type roles struct {
	n, d     int
	admin    int
	speakers []int // device 0 of members 0..k-1 (admin first)
	victim   int   // member N-1: removed in the measured removal
	victim2  int   // member N-2: removed in the free-running removal
	revoker  int   // member N-3: revokes its last installation (D > 1)
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
	r := roles{n: n, d: d, victim: n - 1, victim2: n - 2, revoker: n - 3, newcomer: n}
	k := min(max(speakers, 1), n-3)
	for m := 0; m < k; m++ {
		r.speakers = append(r.speakers, m*d)
	}
	// Disk: the admin, a speaker, a silent member (device 0 of each).
	cands := []int{0}
	if k > 1 {
		cands = append(cands, d)
	}
	if silent := n - 4; silent >= k {
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
	for _, m := range []int{r.victim, r.victim2, r.revoker, r.newcomer} {
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

// converge removes victim2 with every gate open; each speaker sends as soon as it has
// processed the removal. It measures the wall time until every live remaining
// installation has every speaker's message, and returns those messages.
func converge(ctx context.Context, sc *scenario, out *Converge) ([]protocol.MessageID, error) {
	cl, r, cfg := sc.cl, sc.r, sc.cfg
	acct := cl.insts[r.victim2*r.d].account
	sc.gone = append(sc.gone, r.victim2)
	remaining := sc.members()
	if err := cl.quiesce(ctx, false); err != nil {
		return nil, err
	}
	cl.setGates(true, nil)
	defer cl.setGates(false, nil)
	net0 := cl.stats()
	c0 := processCPU()
	t0 := time.Now()
	if err := cl.insts[r.admin].c.RemoveMembers(ctx, sc.gid, acct); err != nil {
		return nil, err
	}
	type sent struct {
		id     protocol.MessageID
		sender int
		err    error
	}
	ch := make(chan sent, len(r.speakers))
	for _, s := range r.speakers {
		go func() {
			if s != r.admin {
				if err := cl.tr.wait(ctx, key{kind: kindRemoved, id: sc.gid, s: acct}, []int{s}, cfg.Timeout); err != nil {
					ch <- sent{err: cl.stalled(ctx, err, r.admin, nil)}
					return
				}
			}
			id, err := cl.insts[s].c.Send(ctx, sc.gid, protocol.Text(pad("after the second removal", cfg.Text)))
			ch <- sent{id, s, err}
		}()
	}
	var ids []protocol.MessageID
	var last time.Time
	var msgs []sent
	for range r.speakers {
		s := <-ch
		if s.err != nil {
			return nil, s.err
		}
		ids = append(ids, s.id)
		msgs = append(msgs, s)
	}
	for _, s := range msgs {
		k := key{kind: kindMessage, id: s.id}
		want := slices.DeleteFunc(slices.Clone(remaining), func(i int) bool { return i == s.sender })
		if err := cl.tr.wait(ctx, k, want, cfg.Timeout); err != nil {
			return nil, cl.stalled(ctx, err, s.sender, nil)
		}
		for _, i := range want {
			if t, ok := cl.tr.at(i, k); ok && t.After(last) {
				last = t
			}
		}
	}
	out.Wall = last.Sub(t0)
	if err := cl.quiesce(ctx, true); err != nil {
		return nil, err
	}
	out.CPU = time.Duration(processCPU() - c0)
	out.CPUPerInstallation = out.CPU / time.Duration(max(len(remaining), 1))
	net1 := cl.stats()
	out.Publishes, out.Bytes = net1.Publishes-net0.Publishes, net1.Bytes-net0.Bytes
	return ids, nil
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
