package ingest

import (
	"cmp"
	"encoding/json"
	"net/url"

	"github.com/unmogrowp/unmogrowp"
)

// The cost of a touchpoint (docs/cost.md) comes as cost_model, cost_value and
// cost_currency, or under the names AppsFlyer's links use, af_cost_model, af_cost_value and
// af_cost_currency; the plain name wins when both are given.

// wireCostValue is cost_value in a POST /v1/touchpoints body: a JSON number, a numeric
// string (as links carry it), or null (absent).
type wireCostValue struct {
	s   string
	set bool
}

// UnmarshalJSON implements json.Unmarshaler. Only the shape is checked here: the value
// is parsed with the other cost fields (setCost).
func (w *wireCostValue) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*w = wireCostValue{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*w = wireCostValue{s: s, set: true}
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*w = wireCostValue{s: string(b), set: true}
	default:
		return &fieldError{"cost_value must be a number."}
	}
	return nil
}

// setCost gives tp the cost of a touchpoint as sent: the model and the currency as they
// are (Touchpoint.Validate checks them), the value parsed. A model without a value is
// refused; a value that is not a number too. The error is EINVALID and names the field.
func setCost(tp *unmogrowp.Touchpoint, model, value, currency string, hasValue bool) error {
	tp.CostModel, tp.CostCurrency, tp.CostValue = model, currency, 0
	if !hasValue {
		if model != "" {
			return unmogrowp.Errorf(unmogrowp.EINVALID, "cost_value is required with cost_model.")
		}
		return nil
	}
	v, err := unmogrowp.ParseCostValue("cost_value", value)
	if err != nil {
		return err
	}
	tp.CostValue = v
	return nil
}

// setQueryCost gives the touchpoint of a tracking link's request the cost its query
// names. A cost that is not valid is dropped, and the touchpoint recorded without it:
// the person who clicked is sent on all the same, and a link's mistake must not lose
// the click. It reports whether a cost was dropped.
func setQueryCost(tp *unmogrowp.Touchpoint, q url.Values) (dropped bool) {
	model := cmp.Or(q.Get("cost_model"), q.Get("af_cost_model"))
	value := cmp.Or(q.Get("cost_value"), q.Get("af_cost_value"))
	currency := cmp.Or(q.Get("cost_currency"), q.Get("af_cost_currency"))
	if model == "" && value == "" && currency == "" {
		return false
	}
	err := setCost(tp, model, value, currency, value != "")
	if err == nil {
		err = tp.ValidateCost()
	}
	if err != nil {
		tp.CostModel, tp.CostValue, tp.CostCurrency = "", 0, ""
		return true
	}
	return false
}
