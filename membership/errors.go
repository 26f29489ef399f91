package membership

import "errors"

// Stage names the step at which a message or an update was rejected. The values are the
// stage names of the status-go conformance vectors.
type Stage string

// Rejection stages, in the order status-go's HandleMembershipUpdate reaches them.
const (
	StageProtobuf         Stage = "protobuf_unmarshal"
	StageEventParse       Stage = "event_parse_or_signature_recovery"
	StageGroupInit        Stage = "group_init"
	StageClock            Stage = "clock_validation"
	StageNewChat          Stage = "handler_new_chat"
	StageNewChatGroupInit Stage = "handler_new_chat_group_init"
	StageExistingChatLoad Stage = "handler_existing_chat_load"
	StageUpdateInit       Stage = "handler_existing_chat_update_init"
	StageMergeInit        Stage = "handler_existing_chat_merge_init"
	StageChatIDMismatch   Stage = "chat_id_mismatch"
	StageNoGenesis        Stage = "no_genesis"
)

// Sentinel errors; a *RejectError matches the one of its stage with errors.Is.
var (
	// ErrMalformed: the bytes are not a MembershipUpdateMessage.
	ErrMalformed = errors.New("membership: malformed message")
	// ErrInvalidGroup: the events do not form a valid group under the rules.
	ErrInvalidGroup = errors.New("membership: invalid group")
	// ErrClock: an event clock is zero or too far in the future.
	ErrClock = errors.New("membership: invalid clock")
	// ErrNotMember: a new chat that never contained the receiver.
	ErrNotMember = errors.New("membership: not a member")
	// ErrChatID: the message is for another chat than the stored one.
	ErrChatID = errors.New("membership: chat id mismatch")
)

// RejectError explains why a message or an update was rejected: the stage, the offending
// wire entry (signature || payload) when one event is to blame, and the cause, whose text
// is status-go's error text for the same situation under StatusRules.
type RejectError struct {
	Stage Stage
	Entry []byte
	Err   error
}

// Error implements error.
func (e *RejectError) Error() string {
	return "membership: " + string(e.Stage) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RejectError) Unwrap() error { return e.Err }

// Is matches the sentinel of the stage.
func (e *RejectError) Is(target error) bool {
	switch e.Stage {
	case StageProtobuf:
		return target == ErrMalformed
	case StageEventParse:
		return target == ErrBadEvent
	case StageGroupInit, StageNewChatGroupInit, StageExistingChatLoad, StageUpdateInit, StageMergeInit, StageNoGenesis:
		return target == ErrInvalidGroup
	case StageClock:
		return target == ErrClock
	case StageNewChat:
		return target == ErrNotMember
	case StageChatIDMismatch:
		return target == ErrChatID
	}
	return false
}

func reject(stage Stage, entry []byte, err error) *RejectError {
	return &RejectError{Stage: stage, Entry: entry, Err: err}
}
