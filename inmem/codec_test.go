package inmem

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestInstallFields checks that installField(in, i) is the field installFields[i] names,
// each a different one.
func TestInstallFields(t *testing.T) {
	var in unmogrowp.Install
	for i := range installFields {
		*installField(&in, i) = "v" + strconv.Itoa(i)
	}
	v := reflect.ValueOf(in)
	seen := map[string]bool{}
	for i, f := range installFields {
		if seen[f.name] {
			t.Errorf("field %d: %s named twice", i, f.name)
		}
		seen[f.name] = true
		fv := v
		for _, part := range strings.Split(f.name, ".") {
			fv = fv.FieldByName(part)
		}
		if !fv.IsValid() || fv.Kind() != reflect.String {
			t.Fatalf("field %d: Install has no string field %s", i, f.name)
		}
		if got, want := fv.String(), "v"+strconv.Itoa(i); got != want {
			t.Errorf("field %d (%s) holds %q, want %q", i, f.name, got, want)
		}
	}
}
