package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
	"github.com/chorus-im/chorus/cmd/chorus/internal/display"
	"github.com/chorus-im/chorus/protocol"
)

// contactVerify shows the safety number shared with a contact (spec "Safety numbers").
func contactVerify(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("contact verify")
	c.register(fs)
	pos, err := parse(fs, args, s, "contact verify NAME")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus contact verify NAME"))
	}
	var v app.SafetyView
	if err := call(ctx, s, &c, "contact.verify", "computing the safety number", app.ContactVerifyParams{Contact: pos[0]}, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) {
		label := display.Clean(v.Name)
		if label == "" {
			label = app.ShortID(v.Contact)
		}
		fmt.Fprintf(w, "Safety number with %s (%s):\n\n", label, app.ShortID(v.Contact))
		for _, line := range strings.Split(protocol.FormatSafetyNumber(v.SafetyNumber), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintf(w, "\nCompare it with the number %s sees (`chorus contact verify` naming you), in person or\n", label)
		fmt.Fprintln(w, "over a call you trust. The same 60 digits mean each of you holds the other's real account")
		fmt.Fprintln(w, "key: nobody substituted a contact code. Different digits: do not trust this contact.")
	})
}
