package quiver

import (
	"errors"
	"strconv"
)

// Error is every failure this package returns: the operation, the library's status number
// (qv_status) and the message of that very call. The message is read inside the same C
// call that failed, so goroutines moving between OS threads never see another call's
// message.
//
// Compare with the sentinels using errors.Is: errors.Is(err, quiver.ErrNotFound).
type Error struct {
	Op     string // the operation, e.g. "CreateEdge"
	Status int    // the qv_status number
	Msg    string // qv_last_error's message (or the binding's, for ErrClosed and ErrTxDone)

	wrapped error // ErrClosed or ErrTxDone, for errors.Is
}

// Error formats the error as "quiver: Op: message (QV_STATUS)".
func (e *Error) Error() string {
	s := "quiver: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	if e.Msg != "" {
		s += e.Msg + " "
	}
	return s + "(" + StatusName(e.Status) + ")"
}

// Is reports whether target is the sentinel of e's status (ErrNotFound, ErrBusy, ...).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Msg == "" && t.wrapped == nil && t.Status == e.Status
}

// Unwrap returns ErrClosed or ErrTxDone for the errors that stand for them, else nil.
func (e *Error) Unwrap() error { return e.wrapped }

// The qv_status numbers (include/quiver.h). Numbers are never reused.
const (
	StatusOK              = 0
	StatusDone            = 1 // a cursor is exhausted; never returned as an error
	StatusNotFound        = 2
	StatusNullArgument    = 10 // only a bug in this package could cause it
	StatusInvalidArgument = 11
	StatusMisuse          = 12
	StatusBufferTooSmall  = 13 // only a bug in this package could cause it
	StatusBusy            = 20
	StatusLocked          = 21
	StatusReadOnly        = 22
	StatusConstraint      = 23
	StatusInterrupted     = 24 // API 0.2: a progress callback asked to stop
	StatusIO              = 30
	StatusFull            = 31
	StatusCorrupt         = 32
	StatusFormat          = 33
	StatusPoisoned        = 40
	StatusInternal        = 41
)

// Sentinels, one per status: errors.Is(err, ErrNotFound) holds for every *Error whose
// Status is StatusNotFound, and so on.
var (
	ErrNotFound        = &Error{Status: StatusNotFound}        // no such node, edge, property, savepoint or database
	ErrNullArgument    = &Error{Status: StatusNullArgument}    // a bug in this package
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument} // bad identifier or value, limit exceeded
	ErrMisuse          = &Error{Status: StatusMisuse}          // call not allowed now (also ErrClosed, ErrTxDone)
	ErrBufferTooSmall  = &Error{Status: StatusBufferTooSmall}  // a bug in this package
	ErrBusy            = &Error{Status: StatusBusy}            // writer lock not obtained in time; Close with open transactions
	ErrLocked          = &Error{Status: StatusLocked}          // the database is open elsewhere
	ErrReadOnly        = &Error{Status: StatusReadOnly}        // a write in a read transaction or read-only database
	ErrConstraint      = &Error{Status: StatusConstraint}      // deleting a node that has edges, without detach
	ErrInterrupted     = &Error{Status: StatusInterrupted}     // cancelled by a progress callback
	ErrIO              = &Error{Status: StatusIO}              // an I/O error (a failed write or fsync poisons the DB)
	ErrFull            = &Error{Status: StatusFull}            // disk full (poisons the DB)
	ErrCorrupt         = &Error{Status: StatusCorrupt}         // on-disk data fails a check
	ErrFormat          = &Error{Status: StatusFormat}          // unknown on-disk format version
	ErrPoisoned        = &Error{Status: StatusPoisoned}        // an earlier failure poisoned the DB: Close and Open again
	ErrInternal        = &Error{Status: StatusInternal}        // a bug in Quiver (a caught panic); poisons the DB
)

// ErrClosed and ErrTxDone are matched by errors.Is on the *Error returned for a call on a
// closed DB or an ended Tx (whose Status is StatusMisuse).
var (
	ErrClosed = errors.New("quiver: database is closed")
	ErrTxDone = errors.New("quiver: transaction has already been committed or rolled back")
)

var statusNames = map[int]string{
	StatusOK:              "QV_OK",
	StatusDone:            "QV_DONE",
	StatusNotFound:        "QV_NOT_FOUND",
	StatusNullArgument:    "QV_NULL_ARGUMENT",
	StatusInvalidArgument: "QV_INVALID_ARGUMENT",
	StatusMisuse:          "QV_MISUSE",
	StatusBufferTooSmall:  "QV_BUFFER_TOO_SMALL",
	StatusBusy:            "QV_BUSY",
	StatusLocked:          "QV_LOCKED",
	StatusReadOnly:        "QV_READ_ONLY",
	StatusConstraint:      "QV_CONSTRAINT",
	StatusInterrupted:     "QV_INTERRUPTED",
	StatusIO:              "QV_IO",
	StatusFull:            "QV_FULL",
	StatusCorrupt:         "QV_CORRUPT",
	StatusFormat:          "QV_FORMAT",
	StatusPoisoned:        "QV_POISONED",
	StatusInternal:        "QV_INTERNAL",
}

// StatusName names a status as the C header does ("QV_NOT_FOUND"); "QV_UNKNOWN(n)" for
// a number that is not one.
func StatusName(status int) string {
	if s, ok := statusNames[status]; ok {
		return s
	}
	return "QV_UNKNOWN(" + strconv.Itoa(status) + ")"
}

func closedError(op string) error {
	return &Error{Op: op, Status: StatusMisuse, Msg: "the database is closed", wrapped: ErrClosed}
}

func txDoneError(op string) error {
	return &Error{Op: op, Status: StatusMisuse,
		Msg: "the transaction has already been committed or rolled back", wrapped: ErrTxDone}
}

func invalidArg(op, msg string) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Msg: msg}
}
