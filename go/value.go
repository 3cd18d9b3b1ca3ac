package quiver

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"
)

// Props is a set of properties: key to value. Values given may be nil, bool, any Go
// integer type (within int64), float32, float64, string or []byte; values read back are
// nil, bool, int64, float64, string or []byte.
type Props map[string]any

// value is a property value as it crosses to C: a qv_type tag and the payload. p points at
// the bytes of a string or []byte (Go memory that holds no pointers; the library copies
// it during the call).
type value struct {
	typ int
	i   int64
	f   float64
	p   unsafe.Pointer
	n   int
}

// encodeValue checks v against the types a property may have.
func encodeValue(op string, v any) (value, error) {
	switch x := v.(type) {
	case nil:
		return value{typ: typeNull}, nil
	case bool:
		if x {
			return value{typ: typeBool, i: 1}, nil
		}
		return value{typ: typeBool}, nil
	case int, int8, int16, int32, int64:
		return value{typ: typeInt, i: reflect.ValueOf(x).Int()}, nil
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return encodeUint(op, reflect.ValueOf(x).Uint())
	case float32:
		return value{typ: typeFloat, f: float64(x)}, nil
	case float64:
		return value{typ: typeFloat, f: x}, nil
	case string:
		return value{typ: typeString, p: unsafe.Pointer(unsafe.StringData(x)), n: len(x)}, nil
	case []byte:
		if len(x) == 0 {
			return value{typ: typeBytes}, nil
		}
		return value{typ: typeBytes, p: unsafe.Pointer(&x[0]), n: len(x)}, nil
	default:
		return value{}, invalidArg(op, fmt.Sprintf(
			"a property value must be nil, bool, an integer, a float, string or []byte, not %T", v))
	}
}

func encodeUint(op string, x uint64) (value, error) {
	if x > math.MaxInt64 {
		return value{}, invalidArg(op, fmt.Sprintf("integer %d does not fit in int64", x))
	}
	return value{typ: typeInt, i: int64(x)}, nil
}

// decodeValue builds the Go value of a property read from the library, copying string
// and bytes payloads out of the library's memory.
func decodeValue(typ int, i int64, f float64, p unsafe.Pointer, n int) any {
	switch typ {
	case typeBool:
		return i != 0
	case typeInt:
		return i
	case typeFloat:
		return f
	case typeString:
		if n == 0 {
			return ""
		}
		return goStringN(p, n)
	case typeBytes:
		if n == 0 {
			return []byte{}
		}
		return goBytes(p, n)
	default:
		return nil
	}
}

// checkIdent refuses an identifier with a NUL byte, which a C string would silently cut
// short. Every other rule (not empty, at most QV_MAX_IDENT_LEN bytes, UTF-8) is left to
// the library, so that its messages are the ones users see.
func checkIdent(op, what, s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		shown := s
		if len(shown) > 64 {
			shown = shown[:64] + "..."
		}
		return invalidArg(op, fmt.Sprintf("%s %q contains a NUL byte at offset %d", what, shown, i))
	}
	return nil
}
