package main

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestContactCodeQRFits80 (issue 18 item 12, issue 19 item 4): a real contact code — now
// carrying the 32-byte announcement secret — still draws as a QR code of at most 80
// columns.
func TestContactCodeQRFits80(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	net := memory.NewNetwork(memory.Config{})
	defer net.Close()
	c, err := protocol.New(ctx, st, net.Join("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateAccount(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := c.ContactCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w := qrWidth(code); w == 0 || w > 80 {
		t.Fatalf("contact code of %d characters draws %d columns wide", len(code), w)
	}
}
