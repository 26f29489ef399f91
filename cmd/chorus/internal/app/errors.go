package app

import (
	"errors"
	"fmt"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport"
)

// Error codes carried over the socket and mapped to exit codes by the CLI.
const (
	CodeUsage          = "usage"            // bad arguments (exit 2)
	CodeUnknownGroup   = "unknown_group"    // no group by that id or name
	CodeAmbiguous      = "ambiguous"        // a name or prefix matches several
	CodeUnknownContact = "unknown_contact"  // no contact by that id or name
	CodeBadContactCode = "bad_contact_code" // a contact code that does not verify
	CodeNotAdmin       = "not_admin"        // the group's rules refuse the change
	CodeNotMember      = "not_member"       // we are not (or no longer) a member
	CodeNoPeers        = "no_peers"         // no Waku peer reachable
	CodeNoAccount      = "no_account"       // chorus init first
	CodeExists         = "exists"           // the data directory already has an account
	CodeNotSupported   = "not_supported"    // the engine cannot do this yet
	CodeNoNode         = "no_node"          // needs a running node
	CodeNotAllowed     = "not_allowed"      // the account's rules refuse it (devices)
	CodeUnknownDevice  = "unknown_device"   // no installation of ours by that id or name
	CodeBadLinkCode    = "bad_link_code"    // a link code that does not verify
	CodeInternal       = "internal"         // anything else
)

// Error is an error with a stable code.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Classify turns any error into an *Error with a code and a message a person can act on.
func Classify(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, protocol.ErrUnknownGroup):
		return Errorf(CodeUnknownGroup, "unknown group")
	case errors.Is(err, protocol.ErrNotAdmin):
		return Errorf(CodeNotAdmin, "not an admin of the group: only admins can change it")
	case errors.Is(err, protocol.ErrNotMember):
		return Errorf(CodeNotMember, "not a member of the group (left or removed)")
	case errors.Is(err, protocol.ErrBadContactCode):
		return Errorf(CodeBadContactCode, "bad contact code: %v", err)
	case errors.Is(err, protocol.ErrUnknownContact):
		return Errorf(CodeUnknownContact, "%v (add their contact code first: chorus contact add CODE)", err)
	case errors.Is(err, protocol.ErrNoAccount):
		return Errorf(CodeNoAccount, "no account: run chorus init first")
	case errors.Is(err, protocol.ErrAccountExists):
		return Errorf(CodeExists, "the data directory already holds an account")
	case errors.Is(err, transport.ErrNoPeers):
		return Errorf(CodeNoPeers, "no peers reachable")
	case errors.Is(err, protocol.ErrNotAccountHolder):
		return Errorf(CodeNotAllowed, "this device does not hold the account key: link and revoke devices from the one that created or imported the account")
	case errors.Is(err, protocol.ErrTooManyInstallations):
		return Errorf(CodeNotAllowed, "the account has the most devices allowed (%d)", protocol.MaxInstallations)
	case errors.Is(err, protocol.ErrInstallationRevoked):
		return Errorf(CodeNotAllowed, "that device was revoked (revocation is permanent)")
	case errors.Is(err, protocol.ErrCurrentInstallation):
		return Errorf(CodeNotAllowed, "a device cannot revoke or remove itself")
	case errors.Is(err, protocol.ErrUnknownInstallation):
		return Errorf(CodeUnknownDevice, "not a device of this account")
	case errors.Is(err, protocol.ErrAlreadyLinked):
		return Errorf(CodeExists, "that device is already linked")
	case errors.Is(err, protocol.ErrBadLinkCode):
		return Errorf(CodeBadLinkCode, "bad link code: %v", err)
	case errors.Is(err, protocol.ErrInvalidContent):
		return Errorf(CodeUsage, "invalid message content (empty or too long?)")
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
