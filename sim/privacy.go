package sim

import (
	"fmt"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
)

// Privacy is what issue 19's measures cost one v2 shape (spec › Observers): bytes of
// padding and the latency of burst spreading. Sizes are payloads as published; the
// unpadded ones are computed with the real encoders, and the padded text is checked
// against the engine's measured message publish.
type Privacy struct {
	// TextUnpadded and TextPadded are a group message of Config.Text bytes of text with
	// a full causal history (HistoryLength entries).
	TextUnpadded, TextPadded int
	// BlockUnpadded and BlockPadded are a publish carrying the removal's key block alone
	// (package epoch's block with session slots, V2.BlockBytes).
	BlockUnpadded, BlockPadded int
	// WelcomeUnpadded and WelcomePadded are one creation Welcome (V2.computeCreation).
	WelcomeUnpadded, WelcomePadded int64
	// Spread is the default burst spread (protocol.DefaultBurstSpread); SpreadLastMean is
	// the expected time until the last of the creation's N×D−1 Welcomes is published,
	// Spread·k/(k+1), to which the creation's measured wall (the Welcomes processed)
	// adds; SpreadMax its bound.
	Spread, SpreadLastMean, SpreadMax time.Duration
}

// computePrivacy fills run.Privacy for a v2 run whose V2 figures are measured.
func computePrivacy(cfg ScaleConfig, run *Run) error {
	pt, err := (&wire.GroupPlaintextV2{Type: wire.ContentText, Body: make([]byte, cfg.Text),
		History: make([][wire.ShortEntrySize]byte, protocol.HistoryLength)}).Marshal()
	if err != nil {
		return err
	}
	pr := &run.Privacy
	pr.TextUnpadded = epoch.OuterOverhead + 2 + 4 + epoch.MessageOverhead + len(pt)
	pr.TextPadded = wire.GroupBucket(pr.TextUnpadded, false)
	pr.BlockUnpadded = epoch.OuterOverhead + 2 + 4 + int(run.V2.BlockBytes)
	pr.BlockPadded = wire.GroupBucket(pr.BlockUnpadded, true)
	pr.WelcomeUnpadded, pr.WelcomePadded = run.V2.CreateWelcomeUnpadded, run.V2.CreateWelcomeBytes
	k := time.Duration(run.Installations - 1)
	pr.Spread = protocol.DefaultBurstSpread
	pr.SpreadLastMean = pr.Spread * k / (k + 1)
	pr.SpreadMax = pr.Spread
	if run.Message.Ops > 0 {
		ok := int(run.Message.Bytes) == pr.TextPadded
		run.Checks = append(run.Checks, Check{Name: "a v2 text message is published at its padding bucket", OK: ok,
			Detail: fmt.Sprintf("measured %.0f B, computed %d B (unpadded %d B)", run.Message.Bytes, pr.TextPadded, pr.TextUnpadded)})
	}
	return nil
}

// privacy prints the cost of issue 19's measures for the v2 runs.
func (p *printer) privacy(r *Report) {
	var rows [][]string
	for _, run := range r.Runs {
		pr := &run.Privacy
		if run.Schedule != 2 || pr.TextPadded == 0 {
			continue
		}
		rows = append(rows, []string{runN(run),
			fmt.Sprintf("%d → %d B (%s)", pr.TextUnpadded, pr.TextPadded, pct(pr.TextPadded, pr.TextUnpadded)),
			fmt.Sprintf("%s → %s (%s)", fmtBytes(float64(pr.BlockUnpadded)), fmtBytes(float64(pr.BlockPadded)), pct(pr.BlockPadded, pr.BlockUnpadded)),
			fmt.Sprintf("%d → %d B (%s)", pr.WelcomeUnpadded, pr.WelcomePadded, pct(int(pr.WelcomePadded), int(pr.WelcomeUnpadded))),
			fmt.Sprintf("%s + %s (≤ %s + %s); all at once: %s", dur(pr.SpreadLastMean), dur(run.Create.RxSerial), dur(pr.SpreadMax),
				dur(run.Create.RxSerial), dur(run.Create.Wall)),
		})
	}
	if len(rows) == 0 {
		return
	}
	p.f("### Privacy measures (issue 19): bytes of padding, latency of burst spreading\n\n")
	p.table([]string{"N × D", "group message, text of the run's size: unpadded → padded", "removal key block alone (package epoch): unpadded → padded",
		"creation Welcome: unpadded → padded", "creation with the default burst spread: last invitee can read after (expected) = last Welcome published + its processing; without spreading: the run's creation wall"}, rows)
	p.f("Padded sizes are what the engine publishes (the text message is checked against the measured publish); unpadded ones are computed with the same encoders. The spread column is the expected time until the last of the N×D−1 Welcomes leaves the creator, `d·k/(k+1)` for `d` = protocol.DefaultBurstSpread and `k` Welcomes (each at its own uniform time in [0, d)), plus the time one installation takes to process its Welcome (the creation's median CPU per installation measured alone; network latency not included). For comparison, the run's creation wall: Welcomes published at once (`WithBurstSpread(0)`) until every installation of the simulation had processed its own, all sharing this machine's cores. The per-message inbox hints cost CPU, not bytes: `go test -run X -bench BenchmarkHintLookup ./protocol/`.\n\n")
}

func pct(padded, unpadded int) string {
	if unpadded == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.1f %%", 100*float64(padded-unpadded)/float64(unpadded))
}
