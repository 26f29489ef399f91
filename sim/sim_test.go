package sim

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunScaleSmall runs the whole scenario at N=10 with D=1 and D=3, each with the clients
// on key schedule v1 and on v2, and checks the hard properties: exactly one publish per
// group message, the removed member reads nothing sent after its removal, everyone
// converges (RunScale waits for every live installation at every step and fails
// otherwise), and no publish exceeds the limit; v1 rotates per speaker, v2 adds nothing to
// a speaker's messages and creates the group in O(N) bytes.
func TestRunScaleSmall(t *testing.T) {
	var out bytes.Buffer
	cfg := ScaleConfig{Sizes: []int{10}, Devices: []int{1, 3}, Messages: 2, Speakers: 3, SerialSample: 2, NoFloor: true}
	rep, err := RunScale(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 4 {
		t.Fatalf("%d runs, want 4", len(rep.Runs))
	}
	v1 := map[int]*Run{}
	for _, run := range rep.Runs {
		if run.Schedule == 1 {
			v1[run.D] = run
		}
	}
	for _, f := range rep.Failed() {
		t.Error(f)
	}
	for _, run := range rep.Runs {
		if run.Err != "" {
			t.Errorf("%s stopped: %s", run.Name(), run.Err)
			continue
		}
		if run.Sampled || run.Live != (run.N+1)*run.D {
			t.Errorf("%s: %d live of %d, sampled %v", run.Name(), run.Live, (run.N+1)*run.D, run.Sampled)
		}
		// Exactly one publish per ordinary message, asserted on every message.
		if m := run.Message; m.Ops != cfg.Messages+cfg.Speakers-1 || m.MaxPublishes != 1 || m.Publishes != 1 {
			t.Errorf("%s: group messages: %d measured, %.2f publishes (max %d)", run.Name(), m.Ops, m.Publishes, m.MaxPublishes)
		}
		// The attribution (attrib.go) covers every measured interval: the sender's calls
		// (each one publish, fanned out by the transport on the sender's thread) and the
		// receivers alone (each a transaction in sqlite: cgo calls), with their empty windows.
		if m := run.Message; m.TxAttr.N != m.Ops || m.TxAttr.Publish <= 0 || m.TxAttr.CPU != m.SenderCPU ||
			m.RxAttr.N != len(m.serial) || m.RxAttr.N == 0 || m.RxAttr.Cgo < 1 || m.RxAttr.CPU != m.RxSerial ||
			m.EmptyAttr.N != m.Ops || m.EmptyAttr.CPU <= 0 {
			t.Errorf("%s: group message attribution: sender %+v, receivers %+v (%d alone), empty %+v",
				run.Name(), m.TxAttr, m.RxAttr, len(m.serial), m.EmptyAttr)
		}
		steps := map[string]*Step{"first": &run.First, "repeat": &run.Repeat, "lazy": &run.Lazy, "rotation": &run.Rotate, "remove": &run.Remove}
		if run.D > 1 {
			steps["revoke"], steps["rotation after revoke"] = &run.Revoke, &run.RevokeRotate
		} else if run.Revoke.Ops != 0 {
			t.Errorf("%s: revocation with one installation per member", run.Name())
		}
		for name, s := range steps {
			if s.Ops == 0 || (s.MaxPublishes != 1 && name != "revoke") {
				t.Errorf("%s: %s: %d ops, max %d publishes", run.Name(), name, s.Ops, s.MaxPublishes)
			}
		}
		k := cfg.Speakers
		if run.Schedule == 2 {
			checkV2Run(t, run, v1[run.D])
		} else if run.Rotate.Ops != k || run.Repeat.Ops != 2*(k-1)+2*k || (run.D > 1 && run.RevokeRotate.Ops != k) {
			t.Errorf("%s: %d rotations, %d repeats, %d rotations after revoke; want %d, %d, %d", run.Name(),
				run.Rotate.Ops, run.Repeat.Ops, run.RevokeRotate.Ops, k, 4*k-2, k)
		}
		// A repeat carries the rotation block again: about as big as the rotation.
		if run.Schedule == 1 && run.Repeat.Bytes < run.Rotate.Bytes*0.8 {
			t.Errorf("%s: repeat %.0f B, rotation %.0f B", run.Name(), run.Repeat.Bytes, run.Rotate.Bytes)
		}
		// Welcomes: one per other installation at creation (small groups fit one
		// publish each), the event plus one per newcomer installation when adding.
		if got, want := run.Create.Publishes, float64(run.N*run.D-1); got < want {
			t.Errorf("%s: create: %.0f publishes, want %.0f", run.Name(), got, want)
		}
		if got, want := run.Add.Publishes, float64(1+run.D); got < want {
			t.Errorf("%s: add: %.0f publishes, want %.0f", run.Name(), got, want)
		}
		// A rotation carries one slot per remaining installation: it is bigger than an
		// ordinary message by at least ~100 B per slot.
		if slots := run.N*run.D - 1; run.Schedule == 1 && run.Rotate.Bytes < run.Message.Bytes+float64(100*slots) {
			t.Errorf("%s: rotation %.0f B for %d slots, ordinary %.0f B", run.Name(), run.Rotate.Bytes, slots, run.Message.Bytes)
		}
		if run.Message.RxSerial <= 0 || run.Message.SenderCPU <= 0 || run.Converge.Wall <= 0 {
			t.Errorf("%s: missing timings: rx %v, sender %v, converge %v", run.Name(), run.Message.RxSerial, run.Message.SenderCPU, run.Converge.Wall)
		}
		// Key schedule v2: one slot per remaining installation but the author, about 110 B
		// each, and timings present.
		if v := run.V2; run.Schedule == 2 && (v.Slots != run.N*run.D-run.D-1 || v.BlockBytes < int64(100*v.Slots) ||
			v.BlockBytes > int64(130*v.Slots+200) || v.AuthorCPU <= 0 || v.ReceiverCPU <= 0) {
			t.Errorf("%s: v2 figures %+v", run.Name(), v)
		}
		// v2 creation: the device lists and events once, one small Welcome per installation: far
		// below v1's Welcomes that each carry every device list.
		if v := run.V2; run.Schedule == 2 && v1[run.D] != nil && (v.CreatePublishes < 2 || v.CreateWelcomeBytes < 300 || v.CreateWelcomeBytes > 4000 ||
			float64(v.CreatePublishBytes+int64(run.N*run.D-1)*v.CreateWelcomeBytes) >= v1[run.D].Create.Bytes) {
			t.Errorf("%s: v2 creation %+v vs v1 %.0f B", run.Name(), v, run.Create.Bytes)
		}
		if len(run.Memory.Disk) != 3 || run.Memory.Disk[0].Bytes == 0 {
			t.Errorf("%s: disk usage %+v", run.Name(), run.Memory.Disk)
		}
		names := map[string]bool{}
		for _, c := range run.Checks {
			names[c.Name] = true
		}
		want := []string{"1 publish per group message", "removed member reads nothing after its removal",
			"second removed member reads nothing after its removal", "every publish fits transport.MaxPayload"}
		if run.D > 1 {
			want = append(want, "revoked installation reads nothing after its revocation")
		}
		for _, want := range want {
			if !names[want] {
				t.Errorf("%s: check %q missing", run.Name(), want)
			}
		}
	}
	for _, want := range []string{"### Group message", "### Member removed", "### Device revocation", "### State per installation",
		"### Compared with MLS", "### Key schedule v1 beside v2", "| 10 | 1 |", "| 10 | 3 |", "| 10 (v2) | 1 |", "| 10 (v2) | 3 |",
		"10 × 1 v1 | 10 × 1 v2 | 10 × 1 v2 key schedule alone"} {
		if !strings.Contains(strings.ToLower(out.String()), strings.ToLower(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + out.String())
	}
}

func TestMainUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"-n", "x"}, &out, &errOut); code != 2 {
		t.Errorf("bad -n: exit %d", code)
	}
	if code := Main(context.Background(), []string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("extra argument: exit %d", code)
	}
	if code := Main(context.Background(), []string{"-h"}, &out, &errOut); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

func TestRolesAndSampling(t *testing.T) {
	r := newRoles(1000, 3, 4, 3)
	if r.victim != 999 || r.victim2 != 998 || r.revoker != 997 || r.newcomer != 1000 || len(r.speakers) != 4 || r.speakers[1] != 3 {
		t.Fatalf("roles %+v", r)
	}
	live := liveSet(r, 200)
	if len(live) != 200 {
		t.Fatalf("%d live, want 200", len(live))
	}
	roles := append(append([]int{r.admin}, r.speakers...), r.member(r.victim)...)
	roles = append(append(roles, r.member(r.revoker)...), r.member(r.newcomer)...)
	for _, i := range roles {
		if !live[i] {
			t.Errorf("installation %d has a role but is not live", i)
		}
	}
	if all := liveSet(newRoles(10, 1, 4, 3), 200); len(all) != 11 {
		t.Errorf("small group: %d live, want all 11", len(all))
	}
}

func TestOversizeCarriesPayloads(t *testing.T) {
	o := newOversize()
	o.subscribed([]string{"t"}, 2)
	big := bytes.Repeat([]byte{7}, 10)
	tok := o.stash("t", big)
	if bytes.Equal(tok, big) || o.extra.Load() != int64(len(big)-len(tok)) {
		t.Fatal("not stashed")
	}
	for i := 0; i < 2; i++ {
		if got := o.fetch(tok); !bytes.Equal(got, big) {
			t.Fatalf("fetch %d: %x", i, got)
		}
	}
	if len(o.payloads) != 0 {
		t.Errorf("%d payloads kept after every subscription fetched", len(o.payloads))
	}
	if got := o.fetch([]byte("other")); string(got) != "other" {
		t.Errorf("passthrough: %q", got)
	}
}

// checkV2Run checks a run on key schedule v2 against the v1 run of the same shape: a
// removal is one publish and adds nothing to the speakers' messages (no rotation), a
// creation is one small Welcome per installation plus the events and cards once.
func checkV2Run(t *testing.T, run, v1 *Run) {
	t.Helper()
	if run.Remove.MaxPublishes != 1 {
		t.Errorf("%s: removal in %d publishes", run.Name(), run.Remove.MaxPublishes)
	}
	// The speakers' messages after the removal are ordinary messages: within a few
	// bytes of the others (history entries differ).
	if extra := run.Rotate.Bytes - run.Message.Bytes; extra > 64 || extra < -64 {
		t.Errorf("%s: %.0f B added to a speaker's message after the removal", run.Name(), extra)
	}
	if extra := run.Lazy.Bytes - run.Message.Bytes; extra > 64 {
		t.Errorf("%s: %.0f B added to a sender's message after the add", run.Name(), extra)
	}
	w := float64(run.N*run.D - 1)
	// Per installation: its Welcome in an initial X3DH message that carries the admin's
	// device list (≈ 1.2 KB at D = 3), and its share of the cards published once.
	if run.Create.Bytes > w*3500 {
		t.Errorf("%s: creation %.0f B for %.0f Welcomes (more than one Welcome, the admin's card and one card each)", run.Name(), run.Create.Bytes, w)
	}
	if v1 != nil && run.Create.Bytes >= v1.Create.Bytes {
		t.Errorf("%s: creation %.0f B, v1 %.0f B", run.Name(), run.Create.Bytes, v1.Create.Bytes)
	}
}

// TestCollectionsNotPerMessage: the harness does not force a collection before every
// measured operation. A collection halves every idle goroutine's stack, empties the
// allocation caches and (FreeOSMemory) returns the free heap pages to the OS, so the
// receiver measured next regrows its stacks and faults its pages in: work a client does
// after a collection, which the runtime starts once per few MiB allocated (hundreds of
// messages for one client), not once per message.
func TestCollectionsNotPerMessage(t *testing.T) {
	var out bytes.Buffer
	cfg := ScaleConfig{Sizes: []int{10}, Devices: []int{1}, Schedules: []int{2}, Messages: 12, Speakers: 3, SerialSample: 2, NoFloor: true}
	rep, err := RunScale(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	run := rep.Runs[0]
	if run.Measures < cfg.Messages {
		t.Fatalf("%d measured operations, want at least %d", run.Measures, cfg.Messages)
	}
	if run.Collections*2 > run.Measures {
		t.Errorf("%d collections forced in %d measured operations, want at most half", run.Collections, run.Measures)
	}
}
