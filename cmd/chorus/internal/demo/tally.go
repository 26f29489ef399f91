package demo

import (
	"fmt"
	"slices"
	"time"

	"github.com/chorus-im/chorus/internal/chorustest"
)

// tally accumulates a scenario's measurements for the summary: message sizes by the key
// material a message would carry, delivery latencies, publishes per message and a row per
// operation measured on a device's chorustest.Meter.
type tally struct {
	steady   []int64 // sizes of messages without key changes
	first    []int64 // sizes of a sender's first message (its key distribution rides along)
	rekey    []int64 // sizes of the first messages after the removal
	newcomer []int64 // sizes of a sender's first message after a member was added
	revoked  []int64 // sizes of the first messages after the revocation
	lat      []time.Duration
	msgs     int64
	msgPubs  int64
	rows     []Row
	removalN int64
	removalB int64
	// knownHoles are engine holes already filed and documented (spec "Known limits"),
	// shown in the summary; any other engine issue is a failed check.
	knownHoles []string
}

// message counts a group message of kind (see story.send) sent in pubs publishes of
// bytes in all.
func (t *tally) message(kind string, pubs, bytes int64) {
	t.msgs++
	t.msgPubs += pubs
	switch kind {
	case "first":
		t.first = append(t.first, bytes)
	case "rekey":
		t.rekey = append(t.rekey, bytes)
	case "newcomer":
		t.newcomer = append(t.newcomer, bytes)
	case "revoked":
		t.revoked = append(t.revoked, bytes)
	case "steady":
		t.steady = append(t.steady, bytes)
	}
}

// latency records one delivery's latency.
func (t *tally) latency(d time.Duration) { t.lat = append(t.lat, d) }

// row adds an operation's row to the summary.
func (t *tally) row(r Row) { t.rows = append(t.rows, r) }

// removal records the publishes and bytes of a member removal.
func (t *tally) removal(n, bytes int64) { t.removalN, t.removalB = n, bytes }

// summary returns the summary rowt.
func (t *tally) summary() []Row {
	var r []Row
	if t.msgs > 0 {
		r = append(r, Row{"publishes per group message", fmt.Sprintf("%.2f", float64(t.msgPubs)/float64(t.msgs)),
			fmt.Sprintf("%d messages, %d publishes, groups of 3 and 4 members (4 and 5 devices)", t.msgs, t.msgPubs)})
	}
	all := slices.Concat(t.steady, t.first, t.newcomer, t.rekey, t.revoked)
	if len(all) > 0 {
		r = append(r, Row{"bytes per group message", fmt.Sprintf("%d B", chorustest.Median(all)),
			fmt.Sprintf("median of %d short texts, %d–%d B; no message carries key material (key schedule v2)", len(all), slices.Min(all), slices.Max(all))})
	}
	if len(t.first) > 0 {
		r = append(r, Row{"a sender's first message", fmt.Sprintf("%d B", chorustest.Median(t.first)),
			"median; the same as any other (chains derive from the epoch)"})
	}
	r = append(r, t.rows...)
	if t.removalN > 0 {
		r = append(r, Row{"rekey on removal: publishes", fmt.Sprintf("%d + 0", t.removalN),
			"one rekey: the removal event and its key block in one publish; nobody else rekeys"})
		r = append(r, Row{"rekey on removal: bytes", fmt.Sprintf("%d B + %d B", t.removalB, chorustest.Median(t.rekey)),
			fmt.Sprintf("the event with its key block + median first message after it (%d senders, no key material)", len(t.rekey))})
	}
	if len(t.revoked) > 0 {
		r = append(r, Row{"rekey on revocation", fmt.Sprintf("0 + %d B", chorustest.Median(t.revoked)),
			"extra publishes + median first message after it: the holder's rekey rode with the device list"})
	}
	if len(t.lat) > 0 {
		r = append(r, Row{"latency send → received", latencies(t.lat),
			fmt.Sprintf("p50 / max over %d deliveries (encrypt, relay, decrypt, store)", len(t.lat))})
	}
	for _, n := range t.knownHoles {
		r = append(r, Row{"known hole", "!", n})
	}
	return r
}
