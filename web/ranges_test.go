package web

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/unmogrowp/unmogrowp"
)

// TestSettingRangesMatchValidate keeps the ranges that the dashboard's number inputs take
// (src/lib/setting-ranges.json: their min and max, and the check before a form is sent)
// equal to the server's (AppSettings.Validate): every numeric setting has its range, each
// bound is taken, and one past each bound is refused naming the setting.
func TestSettingRangesMatchValidate(t *testing.T) {
	b, err := os.ReadFile("src/lib/setting-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	var ranges map[string]struct{ Min, Max int }
	if err := json.Unmarshal(b, &ranges); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[unmogrowp.AppSettings]()
	numeric := map[string]int{} // json name → field index
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Type.Kind() == reflect.Int {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			numeric[name] = i
		}
	}
	for name := range numeric {
		if _, ok := ranges[name]; !ok {
			t.Errorf("setting %s has no range in src/lib/setting-ranges.json", name)
		}
	}
	for name, r := range ranges {
		i, ok := numeric[name]
		if !ok {
			t.Errorf("src/lib/setting-ranges.json has %s, which is no numeric setting", name)
			continue
		}
		validate := func(v int) error {
			s := unmogrowp.DefaultAppSettings()
			reflect.ValueOf(&s).Elem().Field(i).SetInt(int64(v))
			return s.Validate()
		}
		for _, v := range []int{r.Min, r.Max} {
			if err := validate(v); err != nil {
				t.Errorf("%s = %d, in the dashboard's range %d..%d, is refused: %v", name, v, r.Min, r.Max, err)
			}
		}
		for _, v := range []int{r.Min - 1, r.Max + 1} {
			if err := validate(v); err == nil || !strings.Contains(err.Error(), "settings."+name+" ") {
				t.Errorf("%s = %d, outside the dashboard's range %d..%d: %v, want refused naming it", name, v, r.Min, r.Max, err)
			}
		}
	}
}
