package protocol

import "encoding/hex"

// ParseGroupID parses the hex form produced by GroupID.String.
func ParseGroupID(s string) (GroupID, error) {
	var id GroupID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, ErrInvalidID
	}
	copy(id[:], b)
	return id, nil
}

// ParseMessageID parses the hex form produced by MessageID.String.
func ParseMessageID(s string) (MessageID, error) {
	var id MessageID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, ErrInvalidID
	}
	copy(id[:], b)
	return id, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// ErrInvalidID is returned when parsing a malformed group or message id.
var ErrInvalidID = errorString("protocol: invalid id")
