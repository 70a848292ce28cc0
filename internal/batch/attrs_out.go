package batch

import (
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sessionize/sessionize/internal/rule"
)

// Session attributes in the output files: after the sessions' own fields,
// one per --session-attr in flag order, typed (string, long, double,
// boolean) and null where no event gave a value.

// appendAttrsJSON appends ,"name":value for each attribute of state.
func appendAttrsJSON(b []byte, set *rule.Set, state []byte) ([]byte, error) {
	vals, err := set.Values(state)
	if err != nil {
		return b, fmt.Errorf("session attributes: %w", err)
	}
	for i, a := range set.Attrs() {
		b = append(b, ',')
		b = appendJSONString(b, a.Name)
		b = append(b, ':')
		v := vals[i]
		switch {
		case v.Null:
			b = append(b, "null"...)
		case a.Type == rule.String:
			b = appendJSONString(b, v.Str)
		case a.Type == rule.Long:
			b = strconv.AppendInt(b, v.Long, 10)
		case a.Type == rule.Double:
			if math.IsInf(v.Float, 0) {
				b = append(b, "null"...) // JSON has no infinity
			} else {
				b = strconv.AppendFloat(b, v.Float, 'g', -1, 64)
			}
		default:
			b = strconv.AppendBool(b, v.Bool)
		}
	}
	return b, nil
}

func arrowAttrType(t rule.Type) arrow.DataType {
	switch t {
	case rule.Long:
		return arrow.PrimitiveTypes.Int64
	case rule.Double:
		return arrow.PrimitiveTypes.Float64
	case rule.Bool:
		return arrow.FixedWidthTypes.Boolean
	}
	return arrow.BinaryTypes.String
}

// attrFields are the attributes' Parquet columns, nullable.
func attrFields(set *rule.Set) []arrow.Field {
	var out []arrow.Field
	for _, a := range set.Attrs() {
		out = append(out, arrow.Field{Name: a.Name, Type: arrowAttrType(a.Type), Nullable: true})
	}
	return out
}

// appendAttrs appends a session's attributes to the builders bs, one per
// attribute.
func appendAttrs(bs []array.Builder, set *rule.Set, state []byte) error {
	vals, err := set.Values(state)
	if err != nil {
		return fmt.Errorf("session attributes: %w", err)
	}
	for i, a := range set.Attrs() {
		v := vals[i]
		if v.Null {
			bs[i].AppendNull()
			continue
		}
		switch a.Type {
		case rule.String:
			bs[i].(*array.StringBuilder).Append(v.Str)
		case rule.Long:
			bs[i].(*array.Int64Builder).Append(v.Long)
		case rule.Double:
			bs[i].(*array.Float64Builder).Append(v.Float)
		default:
			bs[i].(*array.BooleanBuilder).Append(v.Bool)
		}
	}
	return nil
}
