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

// contactShare gives a contact the secret of our announcements (ShareAnnouncements).
func contactShare(ctx context.Context, s *stdio, args []string) int {
	var c common
	fs := newFlags("contact share")
	c.register(fs)
	pos, err := parse(fs, args, s, "contact share CONTACT")
	if err != nil {
		return fail(s, &c, err)
	}
	if len(pos) != 1 {
		return fail(s, &c, usagef("usage: chorus contact share CONTACT"))
	}
	var v app.ContactView
	if err := call(ctx, s, &c, "contact.share", "sharing your announcements", app.ContactVerifyParams{Contact: pos[0]}, &v); err != nil {
		return fail(s, &c, err)
	}
	return emit(s, &c, v, func(w io.Writer) {
		label := display.Clean(v.Name)
		if label == "" {
			label = app.ShortID(v.ID)
		}
		fmt.Fprintf(w, "Sent %s the secret of your announcements: they can look you up by your account key\n", label)
		fmt.Fprintln(w, "and follow your devices, as anyone you give your contact code. It cannot be taken back.")
	})
}
