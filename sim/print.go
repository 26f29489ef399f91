package sim

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/chorus-im/chorus/topics"
)

// Published MLS figures the tables compare with (see /work/shared/notes/crypto.md).
const (
	mlsOpenMLSAdd1000 = 734 * time.Millisecond // OpenMLS: add one member to a 1000-member group
	mlsXMTPAdd250     = 750 * time.Millisecond // XMTP: add one member to a 250-member group
	mlsTSRemove400    = 594 * time.Millisecond // ts-mls: commit a remove in a 400-member group
	mlsTSRemove400B   = 33 * 1000              // ts-mls: that commit's size
)

// Print writes the report as markdown tables.
func (r *Report) Print(w io.Writer) error {
	p := &printer{w: w}
	p.f("## Chorus scale simulation — %s\n\n", time.Now().UTC().Format("2006-01-02"))
	p.f("Machine: %s; load average %s at the start, %s at the end (other jobs share the cores: CPU times are per thread or process and hold up, wall times do not). Everything runs in one process over transport/memory (no network latency).\n", r.Machine, r.LoadStart, r.LoadEnd)
	p.f("senderkeys floor measured in the same run (%d-byte group plaintext): Seal %s, Open %s, Open with the receiver state's load and store %s.\n\n",
		r.PlaintextSize, dur(time.Duration(r.SealNs)), dur(time.Duration(r.OpenNs)), dur(time.Duration(r.StateOpenNs)))
	if r.ColdOpenNs > 0 {
		p.f("Open after %s idle, as a receiver measured alone starts (cold caches): %s (%.1f× Open); the receivers' ratios below divide by Open.\n\n",
			settle, dur(time.Duration(r.ColdOpenNs)), r.ColdOpenNs/max(r.OpenNs, 1))
	}
	p.sampling(r)
	p.messages(r)
	p.create(r)
	p.add(r)
	p.remove(r)
	p.v2(r)
	p.privacy(r)
	p.revoke(r)
	p.memory(r)
	p.mls(r)
	p.method(r)
	if above := r.AboveTarget(); len(above) > 0 {
		p.f("### Above target\n\n")
		for _, f := range above {
			p.f("- %s\n", f)
		}
		p.f("\n")
	}
	if failed := r.Failed(); len(failed) > 0 {
		p.f("### FAILED CHECKS\n\n")
		for _, f := range failed {
			p.f("- %s\n", f)
		}
		p.f("\n")
	} else {
		p.f("All hard checks passed: exactly 1 publish per group message at every N, every publish within transport.MaxPayload, the removed members read nothing sent after their removal, every live installation converged.\n\n")
	}
	return p.err
}

// proseTemplates are the report's long paragraphs (prose.tmpl), kept out of the code.
//
//go:embed prose.tmpl
var proseText string

var proseTemplates = template.Must(template.New("prose").Parse(proseText))

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// prose writes the paragraph name of prose.tmpl with data.
func (p *printer) prose(name string, data any) {
	if p.err == nil {
		p.err = proseTemplates.ExecuteTemplate(p.w, name, data)
	}
}

func (p *printer) table(head []string, rows [][]string) {
	p.f("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range rows {
		p.f("| %s |\n", strings.Join(r, " | "))
	}
	p.f("\n")
}

func (p *printer) sampling(r *Report) {
	p.f("### Runs and sampling\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		live := fmt.Sprintf("all %d", run.Live)
		if run.Sampled {
			live = fmt.Sprintf("%d of %d (sampled)", run.Live, run.Installations+run.D)
		}
		status := "complete"
		if run.Err != "" {
			status = "stopped: " + run.Err
		}
		rows = append(rows, []string{runN(run), itoa(run.D), itoa(run.Installations), live, itoa(run.Speakers),
			dur(run.Setup), fmt.Sprintf("%.0f ms/s", run.IdleCPU*1000), fmtBytes(float64(run.Largest)), status})
	}
	p.table([]string{"N", "D", "installations", "live clients", "speakers after removal", "setup", "idle CPU", "largest publish", "run"}, rows)
	p.f("A member with D devices is one account with D installations: the primary (CreateAccount, holds the account key) and D−1 installations linked to it (LinkCode on the new one, LinkDevice on the primary), all before the group exists. The group has N members (N×D installations); one more member (D installations) is added, two are removed, and with D > 1 one member revokes one of its installations.\n")
	for _, run := range r.Runs {
		if strings.Contains(run.Err, "event log too large") {
			p.f("%s stopped at group creation: the engine puts the whole membership event log in the first Welcome part and refuses a log above one part (protocol/groups.go welcomeBudget, transport.MaxPayload − 16 KiB); the CHAT_CREATED + MEMBERS_ADDED log of %d members lists %d account keys of 132 hex characters (~%s).\n", run.Name(), run.N, run.N, fmtBytes(float64(134*run.N)))
		}
	}
	if anySampled(r) {
		p.f("Sampled runs: every installation is a real account with its own keys and prekey bundle, in the group, and every slot and Welcome is built and published for it; only the live ones run a client and process what they receive (the others are offline devices). Receiver figures come from the live ones: the admin, the speakers, the removed members, the newcomer and installations spread over the group.\n")
	}
	p.f("\n")
}

func anySampled(r *Report) bool {
	for _, run := range r.Runs {
		if run.Sampled {
			return true
		}
	}
	return false
}

func (p *printer) messages(r *Report) {
	p.f("### Group message (sender key already distributed)\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		s := &run.Message
		if run.Err != "" && run.Message.Ops == 0 {
			continue
		}
		rows = append(rows, []string{runN(run), itoa(run.D), pubs(s), fmtBytes(s.Bytes), dur(s.SenderCPU),
			dur(s.RxSerial), dur(s.RxParallel), ratio(s.RxSerial, r.OpenNs), fmtBytes(s.RxBytes), itoa(s.Ops)})
	}
	p.table([]string{"N", "D", "publishes", "bytes on the wire", "sender CPU", "CPU per receiving installation (alone)",
		"(all at once)", "÷ senderkeys Open", "bytes received per installation", "messages"}, rows)
	p.attribution(r)

	p.f("### A member's first message (distributes its sender key to every installation)\n\n")
	rows = nil
	for _, run := range r.Runs {
		s := &run.First
		if run.Err != "" && run.Message.Ops == 0 {
			continue
		}
		rows = append(rows, []string{runN(run), itoa(run.D), itoa(run.Installations - 1), pubs(s), fmtBytes(s.Bytes),
			perSlot(s.Bytes-run.Message.Bytes, run.Installations-1), dur(s.SenderCPU), dur(s.RxSerial), dur(s.RxParallel), itoa(s.Ops)})
	}
	p.table([]string{"N", "D", "slots", "publishes", "bytes on the wire", "bytes per slot", "sender CPU",
		"CPU per receiving installation (alone)", "(all at once)", "messages"}, rows)
}

func (p *printer) create(r *Report) {
	p.f("### Group creation (Welcome to every installation)\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		s := &run.Create
		if s.Ops == 0 {
			continue
		}
		w := float64(run.Installations - 1)
		rows = append(rows, []string{runN(run), itoa(run.D), pubs(s), fmt.Sprintf("%.1f", s.Publishes/w), fmtBytes(s.Bytes),
			fmtBytes(s.Bytes / w), fmtBytes(s.RxBytes), dur(s.SenderCPU), dur(s.RxSerial), dur(s.RxSerialMax), dur(s.RxParallel),
			errs(s.PublishErrors)})
	}
	p.table([]string{"N", "D", "publishes", "per Welcome", "total bytes", "Welcome size", "bytes received per installation",
		"admin CPU", "CPU per installation (alone, median)", "(alone, max)", "(all at once)", "failed publishes"}, rows)
	p.f("Each installation gets its own pairwise-encrypted Welcome (event log, every member's device list, forwarded sender keys), split into parts that fit a publish: total bytes grow with (N×D)². On key schedule v2 (rows marked v2) a creation Welcome carries only the join, and the creator publishes the events and every device list once in the group (spec: \"Welcome v2\"): total bytes grow with N×D. Bytes received per installation also count the other Welcomes published on its inbox topic (inboxes are shared by 1/%d of the accounts, PRIV2); each of those costs it a failed decryption.\n\n", topics.InboxPartitions)
}

func (p *printer) add(r *Report) {
	p.f("### Member added (one member with D installations, to the N-member group)\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		a, wl, lz := &run.Add, &run.Welcome, &run.Lazy
		if run.Err != "" && run.Message.Ops == 0 {
			continue
		}
		rows = append(rows, []string{runN(run), itoa(run.D), pubs(a), fmtBytes(a.Bytes), dur(a.SenderCPU),
			fmtBytes(a.RxBytes), dur(a.RxSerial), dur(a.RxParallel),
			fmtBytes(wl.RxBytes), dur(wl.RxSerial),
			fmtBytes(lz.Bytes - run.Message.Bytes), dur(lz.SenderCPU)})
	}
	p.table([]string{"N", "D", "publishes (event + Welcomes)", "total bytes", "admin CPU",
		"bytes received per existing installation", "CPU per existing installation (alone)", "(all at once)",
		"Welcome bytes per new installation", "CPU per new installation",
		"next message of an existing sender: extra bytes (its key for the newcomer)", "its sender CPU"}, rows)
}

func (p *printer) remove(r *Report) {
	p.f("### Member removed (one member with D installations; then every remaining sender that speaks rotates)\n\n")
	p.f("The removal event is one group message under the old keys. Each remaining sender rotates lazily: its next message carries its new key in one slot per remaining installation (same publish), and its two messages after that carry the same block again (rotation repeats, so that a recipient who lost it can still read). Measured: the event, then three messages of each of the k speakers.\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		e, s := &run.Remove, &run.Rotate
		if run.Err != "" && run.Message.Ops == 0 {
			continue
		}
		rp := &run.Repeat
		rows = append(rows, []string{runN(run), itoa(run.D), pubs(e), fmtBytes(e.Bytes), dur(e.SenderCPU), dur(e.RxSerial),
			pubs(s), fmtBytes(s.Bytes), itoa((run.N+1)*run.D - run.D - 1), dur(s.SenderCPU), dur(s.RxSerial), dur(s.RxParallel),
			pubs(rp), fmtBytes(rp.Bytes), dur(rp.RxSerial), itoa(s.Ops)})
	}
	p.table([]string{"N", "D", "event: publishes", "event bytes", "admin CPU", "event CPU per installation",
		"rotation message: publishes", "bytes (each installation receives it)", "slots", "sender CPU",
		"CPU per receiving installation (alone)", "(all at once)", "repeat: publishes", "repeat bytes", "repeat CPU per installation", "speakers measured"}, rows)

	p.f("Removal totals per remaining installation: the event plus, per speaking sender, its rotation and two repeats (a sender that sends fewer messages costs less). k measured speakers vs. every remaining installation speaking (S = N×D−1 after the removal; **computed** as S × the measured per-speaker figures, not run):\n\n")
	rows = nil
	for _, run := range r.Runs {
		e, s := &run.Remove, &run.Rotate
		if run.Err != "" && run.Message.Ops == 0 {
			continue
		}
		k := time.Duration(run.Speakers)
		S := run.N*run.D - 1
		perBytes := s.RxBytes + 2*run.Repeat.RxBytes
		perCPU := s.RxSerial + 2*run.Repeat.RxSerial
		rows = append(rows, []string{runN(run), itoa(run.D), itoa(run.Speakers),
			fmtBytes(e.RxBytes + float64(run.Speakers)*perBytes), dur(e.RxSerial + k*perCPU),
			itoa(S), fmtBytes(e.RxBytes + float64(S)*perBytes), dur(e.RxSerial + time.Duration(S)*perCPU),
			dur(run.Converge.Wall), dur(run.Converge.CPUPerInstallation), dur(run.Converge.Estimate)})
	}
	p.table([]string{"N", "D", "k", "bytes received per installation (k speak)", "CPU per installation (k speak)",
		"S", "bytes received per installation (all S speak, computed)", "CPU per installation (all S speak, computed)",
		"converge: wall, simulated (k speak)", "process CPU per installation meanwhile", "converge estimate on own device"}, rows)
	p.f("Converge: a second removal with every client running freely; each speaker sends as soon as it has processed the removal; the wall time runs until every live remaining installation has every speaker's message. All clients share this machine's cores, so the simulated wall time grows with N×D; the estimate is what one device would spend on its own hardware: removal event + one rotation by the slowest sender + the slowest measured receiver processing the event and the k rotations (no network latency).\n\n")
}

func (p *printer) revoke(r *Report) {
	p.f("### Device revocation (a member revokes one of its D installations)\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		v, s := &run.Revoke, &run.RevokeRotate
		switch {
		case run.D < 2:
			continue
		case v.Ops == 0:
			rows = append(rows, []string{runN(run), itoa(run.D), "not measured (run stopped)", "", "", "", "", "", "", "", ""})
			continue
		}
		rows = append(rows, []string{runN(run), itoa(run.D), pubs(v), fmtBytes(v.Bytes), dur(v.SenderCPU), fmtBytes(v.RxBytes),
			dur(v.RxSerial), dur(v.RxParallel), fmtBytes(s.Bytes), dur(s.SenderCPU), dur(s.RxSerial)})
	}
	if len(rows) == 0 {
		p.f("No run with D > 1.\n\n")
		return
	}
	p.table([]string{"N", "D", "publishes", "total bytes", "revoker CPU", "bytes received per installation",
		"CPU per installation (alone)", "(all at once)", "each speaker's next message: bytes (rotation)", "its sender CPU", "CPU per receiving installation"}, rows)
	p.f("RevokeInstallation signs a new device list and sends it to the group as one group message, which also carries the revoker's rotated key for every remaining installation; its other installations and contacts outside the group get it pairwise, plus an announcement. Every other sender then rotates before its next message, as after a removal (its two repeats are not repeated here). The revoked installation's client keeps running and is checked to read nothing sent after.\n\n")
}

func (p *printer) memory(r *Report) {
	p.f("### State per installation\n\n")
	var rows [][]string
	for _, run := range r.Runs {
		rss := fmtBytes(float64(run.Memory.RSS))
		if run.Memory.FileStores {
			rss += " (file stores)"
		}
		heap := fmtBytes(float64(run.Memory.GoHeap))
		if run.Memory.Simulation > 0 {
			heap += " (simulation " + fmtBytes(float64(run.Memory.Simulation)) + ")"
		}
		row := []string{runN(run), itoa(run.D), heap, rss}
		for _, role := range []string{"admin", "speaker", "silent member"} {
			cell := "–"
			for _, u := range run.Memory.Disk {
				if u.Role == role {
					cell = fmtBytes(float64(u.Bytes)) + " (" + topTables(u, 3) + ")"
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	p.table([]string{"N", "D", "Go heap per live installation", "RSS per live installation", "disk: admin",
		"disk: speaker", "disk: silent member"}, rows)
	p.f("RAM: growth of the Go heap (after GC) and of the process's resident set (after returning freed memory to the OS; it includes the sqlite :memory: stores in the C heap, unless the run gave every installation a file store: -files) from before the accounts were created to the end of the run, divided by the live installations; with -memprofile, in parentheses the part of the Go heap the simulation itself holds (its bookkeeping and the in-memory network standing in for Waku, by the innermost allocating frame of this module in the heap profile). Disk: sqlite file of a file-backed installation after close (WAL checkpointed); in parentheses the largest tables by the bytes of their rows.\n\n")
}

func topTables(u DiskUsage, n int) string {
	t := append([]TableUsage(nil), u.Tables...)
	for i := range t {
		for j := i + 1; j < len(t); j++ {
			if t[j].Bytes > t[i].Bytes {
				t[i], t[j] = t[j], t[i]
			}
		}
	}
	var parts []string
	for i := 0; i < n && i < len(t); i++ {
		parts = append(parts, fmt.Sprintf("%s %d rows %s", t[i].Name, t[i].Rows, fmtBytes(float64(t[i].Bytes))))
	}
	return strings.Join(parts, ", ")
}

func (p *printer) mls(r *Report) {
	p.f("### Compared with MLS, and where Sender Keys lose\n\n")
	p.f("MLS figures (notes/crypto.md): OpenMLS ~%s to add one member to a 1000-member group; XMTP ~%s to add one to 250; ts-mls (measured on this machine) commits a remove in a 400-member group in %s, %s, and every member processes that one commit.\n\n",
		dur(mlsOpenMLSAdd1000), dur(mlsXMTPAdd250), dur(mlsTSRemove400), fmtBytes(mlsTSRemove400B))
	var rows [][]string
	for _, run := range r.Runs {
		if run.Message.Ops == 0 || run.N < 100 {
			continue
		}
		k := float64(run.Speakers)
		S := float64(run.N*run.D - 1)
		perBytes := run.Rotate.RxBytes + 2*run.Repeat.RxBytes
		perCPU := run.Rotate.RxSerial + 2*run.Repeat.RxSerial
		rows = append(rows, []string{run.Name(),
			dur(run.Add.SenderCPU), dur(run.Welcome.RxSerial), fmtBytes(run.Welcome.RxBytes),
			dur(run.Remove.SenderCPU + run.Rotate.SenderCPU),
			fmtBytes(run.Remove.Bytes + run.Rotate.Bytes),
			fmtBytes(run.Remove.RxBytes+k*perBytes) + " / " + fmtBytes(run.Remove.RxBytes+S*perBytes),
			dur(run.Remove.RxSerial+time.Duration(k)*perCPU) + " / " + dur(run.Remove.RxSerial+time.Duration(S)*perCPU),
			fmtBytes(run.Create.Bytes)})
	}
	p.table([]string{"Chorus", "add: admin CPU", "add: newcomer CPU per installation", "add: Welcome bytes per new installation",
		"remove: admin CPU (event + its rotation)", "remove: bytes until the admin has rotated",
		"remove: bytes received per installation, k speak / all speak (computed; rotation + 2 repeats each)", "remove: CPU per installation, k / all (computed)",
		"create: total bytes"}, rows)
	p.prose("mls-verdict", struct{ PerSlotCPU, VersusCommit string }{perSlotCPU(r), versusCommit(r)})
	p.f("\n\n")
}

func (p *printer) method(r *Report) {
	p.f("### Method\n\n")
	p.f("- CPU: %s.\n", r.CPUMethod)
	p.f("- Every installation's inbound envelopes pass a gate. A step runs with every gate closed: the acting installation's API call (Send, CreateGroup, AddMembers, RemoveMembers) runs on a goroutine locked to its OS thread, and its CPU is that thread's CPU time (sqlite and libsecp256k1 run on the calling thread through cgo) minus the time spent inside the transport's Publish (the in-process bus copying the payload to every subscriber stands in for the Waku relay, not the sender).\n")
	p.prose("method-receivers", struct {
		SerialSample int
		Settle       time.Duration
	}{r.SerialSample, settle})
	p.f("\n")
	p.f("- Bytes: payload bytes of successful publishes over the whole network (Waku framing excluded); bytes received per installation are the payloads that reached its node.\n")
	p.f("- The ratio to senderkeys Open divides the median receiver CPU by Open measured in this run; the target is ≤ 1.2 and what exceeds it is storage (one sqlite transaction per message) and client overhead, constant in N (compare the rows).\n\n")
}

func pubs(s *Step) string {
	if s.Ops == 0 {
		return "–"
	}
	if float64(s.MaxPublishes) == s.Publishes {
		return fmt.Sprint(s.MaxPublishes)
	}
	return fmt.Sprintf("%.2f (max %d)", s.Publishes, s.MaxPublishes)
}

func errs(n int64) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d**", n)
}

func ratio(d time.Duration, ns float64) string {
	if ns <= 0 || d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", float64(d)/ns)
}

func perSlot(b float64, slots int) string {
	if slots <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f B", b/float64(slots))
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 10*1024:
		return fmt.Sprintf("%.1f KiB", b/1024)
	}
	return fmt.Sprintf("%.0f B", b)
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

// perSlotCPU is the rotation sender CPU per slot of the largest completed run.
func perSlotCPU(r *Report) string {
	var best *Run
	for _, run := range r.Runs {
		if run.Rotate.Ops > 0 && (best == nil || run.N*run.D > best.N*best.D) {
			best = run
		}
	}
	if best == nil {
		return "–"
	}
	slots := (best.N+1)*best.D - best.D - 1
	return dur(best.Rotate.SenderCPU / time.Duration(max(slots, 1)))
}

// versusCommit compares the largest run's rotation message with the ts-mls commit.
func versusCommit(r *Report) string {
	var best *Run
	for _, run := range r.Runs {
		if run.Rotate.Ops > 0 && (best == nil || run.N*run.D > best.N*best.D) {
			best = run
		}
	}
	if best == nil {
		return ""
	}
	return fmt.Sprintf(": one rotation in the %d-installation group (%s) is %.1f× the ts-mls remove commit at 400 members", best.N*best.D,
		fmtBytes(best.Rotate.Bytes), best.Rotate.Bytes/float64(mlsTSRemove400B))
}

// runN is the N column of the per-step tables: N, and "v2" for a run on key schedule v2.
func runN(run *Run) string {
	if run.Schedule == 2 {
		return itoa(run.N) + " (v2)"
	}
	return itoa(run.N)
}

// v2 prints one table with v1 beside v2 for every shape run under both schedules: the
// engine's measured figures, the key schedule's own (package epoch), and the MLS figures
// from elsewhere (issue 13).
func (p *printer) v2(r *Report) {
	p.f("### Key schedule v1 beside v2 (issue 13)\n\n")
	p.f("Both columns of a shape are real clients of the engine in this run (the v1 column with `WithKeyScheduleV1` (legacy: this module only), the v2 column with the default: spec/README.md protocol › Key schedule v2). The \"v2 key schedule alone\" column is package epoch measured in this process over real Double Ratchet sessions (slot sealing and opening, block sizes, epoch arithmetic; thread CPU, median of %d; no store). MLS figures are from elsewhere (notes/crypto.md), not measured here.\n\n", v2Reps)
	type pair struct{ v1, v2 *Run }
	var shapes []pair
	for _, run := range r.Runs {
		if run.Schedule != 2 || run.Message.Ops == 0 {
			continue
		}
		pr := pair{v2: run}
		for _, o := range r.Runs {
			if o.Schedule != 2 && o.N == run.N && o.D == run.D && o.Message.Ops > 0 {
				pr.v1 = o
			}
		}
		shapes = append(shapes, pr)
	}
	if len(shapes) == 0 {
		p.f("No v2 run completed its messages.\n\n")
		return
	}
	head := []string{""}
	for _, sh := range shapes {
		name := itoa(sh.v2.N) + " × " + itoa(sh.v2.D)
		head = append(head, name+" v1", name+" v2", name+" v2 key schedule alone")
	}
	head = append(head, "MLS (figures from elsewhere)")
	type metric struct {
		name string
		v1   func(*Run) string
		v2   func(*Run) string
		pkg  func(*Run) string
		mls  string
	}
	S := func(run *Run) float64 { return float64(run.N*run.D - run.D - 1) }
	perSpeaker := func(run *Run) float64 {
		msg := run.Message.Bytes
		return (run.Rotate.Bytes - msg) + 2*(run.Repeat.Bytes-msg)
	}
	metrics := []metric{
		{"removal: publishes / bytes on the wire",
			func(run *Run) string {
				return fmt.Sprintf("%s / %s, then each remaining speaker's next message carries its new key (%s with its 2 repeats); %s if all %d speak (computed)",
					pubs(&run.Remove), fmtBytes(run.Remove.Bytes), fmtBytes(perSpeaker(run)), fmtBytes(run.Remove.Bytes+S(run)*perSpeaker(run)), int(S(run)))
			},
			func(run *Run) string {
				return pubs(&run.Remove) + " / " + fmtBytes(run.Remove.Bytes) + " (event + 1 key block)"
			},
			func(run *Run) string {
				v := &run.V2
				return fmt.Sprintf("block %s (%d slots)", fmtBytes(float64(v.BlockBytes)), v.Slots)
			},
			fmt.Sprintf("ts-mls remove at 400: 1 commit, %s", fmtBytes(mlsTSRemove400B))},
		{"bytes added to each speaker's later messages (rotation message − ordinary message)",
			func(run *Run) string { return fmtBytes(perSpeaker(run)) + " (rotation + 2 repeats)" },
			func(run *Run) string { return signedBytes(run.Rotate.Bytes - run.Message.Bytes) },
			func(run *Run) string { return "0" },
			"0"},
		{"add a member: publishes / bytes (event, key block, Welcomes)",
			func(run *Run) string {
				return fmt.Sprintf("%s / %s; each existing sender's next message: +%s", pubs(&run.Add), fmtBytes(run.Add.Bytes),
					fmtBytes(run.Lazy.Bytes-run.Message.Bytes))
			},
			func(run *Run) string {
				return fmt.Sprintf("%s / %s; next message: %s", pubs(&run.Add), fmtBytes(run.Add.Bytes), signedBytes(run.Lazy.Bytes-run.Message.Bytes))
			},
			func(run *Run) string { return "block " + fmtBytes(float64(run.V2.AddBlockBytes)) + " + Welcome" },
			"–"},
		{"add: admin CPU / new installation CPU",
			func(run *Run) string { return dur(run.Add.SenderCPU) + " / " + dur(run.Welcome.RxSerial) },
			func(run *Run) string { return dur(run.Add.SenderCPU) + " / " + dur(run.Welcome.RxSerial) },
			func(run *Run) string { return "–" },
			"OpenMLS add at 1000: ≈ " + dur(mlsOpenMLSAdd1000)},
		{"create the group: publishes / bytes",
			func(run *Run) string { return pubs(&run.Create) + " / " + fmtBytes(run.Create.Bytes) },
			func(run *Run) string { return pubs(&run.Create) + " / " + fmtBytes(run.Create.Bytes) },
			func(run *Run) string {
				v := &run.V2
				w := int64(run.N*run.D - 1)
				if v.CreatePublishes == 0 {
					return "–"
				}
				return fmt.Sprintf("%s computed (%d publishes + %d Welcomes of %s)",
					fmtBytes(float64(v.CreatePublishBytes+w*v.CreateWelcomeBytes)), v.CreatePublishes, w, fmtBytes(float64(v.CreateWelcomeBytes)))
			},
			"–"},
		{"group message, 100 B of text: publishes / bytes",
			func(run *Run) string { return pubs(&run.Message) + " / " + fmtBytes(run.Message.Bytes) },
			func(run *Run) string { return pubs(&run.Message) + " / " + fmtBytes(run.Message.Bytes) },
			func(run *Run) string { return "+" + itoa(run.V2.MessageExtra) + " B header" },
			"–"},
		{"rekeying installation CPU",
			func(run *Run) string {
				return dur(run.Remove.SenderCPU+run.Rotate.SenderCPU) + " (event + its rotation; every speaker pays its rotation)"
			},
			func(run *Run) string { return dur(run.Remove.SenderCPU) + " (event + key block, with the store)" },
			func(run *Run) string { return dur(run.V2.AuthorCPU) },
			"ts-mls remove at 400: " + dur(mlsTSRemove400)},
		{"receiver CPU per key event",
			func(run *Run) string { return dur(run.Rotate.RxSerial) + " per speaker's rotation" },
			func(run *Run) string { return dur(run.Remove.RxSerial) + " (the removal publish, with the store)" },
			func(run *Run) string { return dur(run.V2.ReceiverCPU) },
			"–"},
	}
	var rows [][]string
	for _, m := range metrics {
		row := []string{m.name}
		for _, sh := range shapes {
			v1 := "not run"
			if sh.v1 != nil {
				v1 = m.v1(sh.v1)
			}
			pkg := "–"
			if sh.v2.V2.Slots > 0 {
				pkg = m.pkg(sh.v2)
			}
			row = append(row, v1, m.v2(sh.v2), pkg)
		}
		rows = append(rows, append(row, m.mls))
	}
	p.table(head, rows)
}

// signedBytes prints a byte difference with its sign.
func signedBytes(b float64) string {
	if b >= 0 {
		return "+" + fmtBytes(b)
	}
	return "−" + fmtBytes(-b)
}
