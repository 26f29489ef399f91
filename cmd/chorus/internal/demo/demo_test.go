package demo

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestScenario runs the whole demo on real go-waku nodes and requires every expectation
// to hold, the transcript to tell the story and the summary to carry its numbers.
func TestScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, Options{Out: &out, Dir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		for _, c := range res.Failed() {
			t.Errorf("step %s: %s: %s", c.Step, c.What, c.Detail)
		}
		t.FailNow()
	}
	if len(res.Checks) < 15 {
		t.Errorf("only %d checks ran", len(res.Checks))
	}
	text := out.String()
	for _, want := range []string{
		"3 go-waku relay nodes on 127.0.0.1",
		`Alice/phone  » "Who's driving on Saturday?"`,
		"Carol is told she was removed",
		"she could read none of them",
		"Dave is told a message from Alice",
		"✓ Dave is not told that messages sent before he joined are missing",
		"Alice/laptop » ",
		"the lost laptop received the new messages but could read none of them",
		"rekey on removal: publishes",
		"latency send → received",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if !regexp.MustCompile(`publishes per group message +1\.00 `).MatchString(text) {
		t.Error("the summary does not show 1 publish per group message")
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped %v", res.Skipped)
	}
}

func TestResultNotOKWithoutChecks(t *testing.T) {
	var r Result
	if r.OK() {
		t.Fatal("an empty result must not pass")
	}
	r.Checks = []Check{{OK: true}, {OK: false, What: "x"}}
	if r.OK() || len(r.Failed()) != 1 {
		t.Fatal("a failed check must fail the result")
	}
}
