package chorus_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeEmbeddingSnippet: the README's Embedding code block is the README region of
// examples/waku/main.go (built and run by make examples), so it compiles.
func TestReadmeEmbeddingSnippet(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("examples/waku/main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, region, ok := strings.Cut(string(src), "// README:begin\n")
	region, _, ok2 := strings.Cut(region, "// README:end")
	if !ok || !ok2 {
		t.Fatal("examples/waku/main.go has no README:begin/end region")
	}
	var want []string
	for _, l := range strings.Split(strings.TrimRight(region, "\t\n"), "\n") {
		want = append(want, strings.TrimPrefix(l, "\t"))
	}
	_, emb, ok := strings.Cut(string(readme), "\n## Embedding\n")
	if !ok {
		t.Fatal("README has no Embedding section")
	}
	_, block, ok := strings.Cut(emb, "```go\n")
	block, _, ok2 = strings.Cut(block, "\n```")
	if !ok || !ok2 {
		t.Fatal("README's Embedding section has no go block")
	}
	if block != strings.Join(want, "\n") {
		t.Fatalf("README's Embedding block differs from examples/waku/main.go's README region:\n--- README\n%s\n--- example\n%s", block, strings.Join(want, "\n"))
	}
}
