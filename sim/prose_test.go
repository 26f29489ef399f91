package sim

import (
	"strings"
	"testing"
)

// TestProse renders the paragraphs kept in prose.tmpl with their data: a missing block or
// field is an error, and the figures land in the text.
func TestProse(t *testing.T) {
	var b strings.Builder
	p := &printer{w: &b}
	r := &Report{CPUMethod: "thread CPU", SerialSample: 7}
	p.mls(r)
	p.method(r)
	if p.err != nil {
		t.Fatal(p.err)
	}
	out := b.String()
	for _, want := range []string{
		"Sender Keys win on CPU", "(– of sender CPU per slot in the largest run)",
		"- Receivers: up to 7 receivers", `("alone", with GOMAXPROCS=1`, "under 5% of a core", "plus " + settle.String() + " for the rest",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "<no value>") || strings.Contains(out, "%!") {
		t.Errorf("a template field or format verb went unfilled:\n%s", out)
	}
}
