package ingest

import (
	"reflect"
	"strings"
)

// The JSON decoder mends what is not text: it decodes bytes that are not UTF-8, and a \u
// escape of a lone UTF-16 surrogate, as U+FFFD, so that two different ids could be stored
// as one. The decoders of outside input refuse such text instead
// (httpserve.CheckJSONText). The fast decoder agrees: it leaves a body with bytes that
// are not UTF-8 to splitBatch, and an event with a surrogate escape in a string field to
// decodeEvent; a lone surrogate escape inside attribution or event_data is kept as sent,
// escape and all, by both.

// stringFields returns the JSON names of the string fields of the struct type T.
func stringFields[T any]() []string {
	var names []string
	t := reflect.TypeFor[T]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.String {
			names = append(names, strings.Split(f.Tag.Get("json"), ",")[0])
		}
	}
	return names
}

// The string fields of an event and of a touchpoint: those whose lone surrogate escapes
// the decoder would turn into U+FFFD.
var (
	eventStringFields      = stringFields[wireEvent]()
	touchpointStringFields = stringFields[wireTouchpoint]()
)
