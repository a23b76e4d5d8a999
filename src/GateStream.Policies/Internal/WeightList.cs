using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>An explicit weight schedule (<c>stepWeights</c>): whole percentages 1..100, strictly increasing.</summary>
internal static class WeightList
{
    public static List<int>? Read(MapReader map, string key)
    {
        var list = map.List(key);
        if (list is null)
        {
            return null;
        }

        var path = map.PathOf(key);
        if (list.Children.Count == 0)
        {
            map.Problems.Error(list, $"{path} is empty; list the canary weights in order, e.g. [1, 5, 10, 25, 50].");
            return null;
        }

        var weights = new List<int>();
        var ok = true;
        for (var i = 0; i < list.Children.Count; i++)
        {
            YamlNode item = list.Children[i];
            if (!Scalars.TryInteger(item, $"{path}[{i}]", map.Problems, 1, 100, out var weight))
            {
                ok = false;
                continue;
            }

            if (weights.Count > 0 && weight <= weights[^1])
            {
                map.Problems.Error(item, $"{path}[{i}] {weight} is not larger than the weight before it ({weights[^1]}); weights must increase.");
                ok = false;
            }

            weights.Add(weight);
        }

        return ok ? weights : null;
    }
}
