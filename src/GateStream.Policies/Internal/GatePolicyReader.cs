using GateStream.Core.Policies;
using YamlDotNet.Core;

namespace GateStream.Policies.Internal;

/// <summary>Reads a native <c>gatestream.io/v1 GatePolicy</c>. The format is documented in docs/policies.md.</summary>
internal static partial class GatePolicyReader
{
    public const string ApiVersion = "gatestream.io/v1";

    public static readonly TimeSpan MaxWindow = TimeSpan.FromHours(24);

    public static readonly TimeSpan DefaultReleaseAfter = TimeSpan.FromMinutes(2);

    private static readonly (string, ObjectType)[] ObjectTypes =
    [
        ("application", ObjectType.Application),
        ("database-migration", ObjectType.DatabaseMigration),
        ("infrastructure", ObjectType.Infrastructure),
    ];

    private static readonly (string, PolicyMode)[] Modes =
    [
        ("enforce", PolicyMode.Enforce),
        ("shadow", PolicyMode.Shadow),
    ];

    public static (PolicyDefinition Policy, Mark TargetAt)? Read(MapReader doc, PolicyHeader header)
    {
        var spec = doc.Map("spec", required: true);
        if (spec is null)
        {
            return null;
        }

        var problems = spec.Problems;
        var errorsBefore = problems.ErrorCount;
        var target = spec.String("target", required: true);
        var targetAt = spec.At("target");
        if (target is not null && !Names.IsValidTarget(target))
        {
            problems.Error(targetAt, $"spec.target '{target}' is not a deployment name or glob: use letters, digits, '.', '-', '_' and the wildcards * (any run of characters) and ? (one character).");
        }

        var objectType = spec.Choice("objectType", ObjectTypes) ?? ObjectType.Application;
        var mode = spec.Choice("mode", Modes) ?? PolicyMode.Enforce;
        var releaseAfter = spec.Duration("releaseAfter", MaxWindow) ?? DefaultReleaseAfter;
        var progression = ReadProgression(spec);
        var (deadline, deadlineAction) = ReadEvidenceDeadline(spec);
        var rules = ReadRules(spec, objectType);
        var opening = ReadOpening(spec);
        spec.Finish();

        if (target is null || progression is null || problems.ErrorCount != errorsBefore)
        {
            return null;
        }

        var policy = new PolicyDefinition
        {
            Name = header.Name,
            Revision = header.Revision,
            SourcePath = header.SourcePath,
            Form = PolicyForm.Native,
            Target = target,
            ObjectType = objectType,
            Mode = mode,
            ReleaseAfter = releaseAfter,
            EvidenceDeadline = deadline,
            EvidenceDeadlineAction = deadlineAction,
            Progression = progression,
            Rules = rules,
            Opening = opening,
        };
        return (policy, targetAt);
    }

    // spec.opening: the traffic a new version must show before it opens a gate by itself (engine defaults otherwise).
    private static GateOpeningSpec? ReadOpening(MapReader spec)
    {
        var opening = spec.Map("opening");
        if (opening is null)
        {
            return null;
        }

        var minRequests = opening.Long("minRequests", 1);
        var minShare = opening.Number("minShare");
        if (minShare is { } share && share is < 0 or > 1)
        {
            opening.Problems.Error(opening.At("minShare"), $"{opening.PathOf("minShare")} must be between 0 and 1 (got {share}).");
        }

        opening.Finish();
        return new GateOpeningSpec { MinRequests = minRequests, MinShare = minShare };
    }

    private static readonly (string, GateAction)[] DeadlineActions = [("hold", GateAction.Hold), ("pause", GateAction.Pause), ("rollback", GateAction.Rollback)];

    /// <summary><c>evidenceDeadline: { after: 10m, action: pause }</c>: what a rollout starved of evidence does, and when.</summary>
    private static (TimeSpan After, GateAction Action) ReadEvidenceDeadline(MapReader spec)
    {
        var d = spec.Map("evidenceDeadline");
        if (d is null)
        {
            return (PolicyDefinition.DefaultEvidenceDeadline, GateAction.Pause);
        }

        var after = d.Duration("after", MaxWindow) ?? PolicyDefinition.DefaultEvidenceDeadline;
        var action = d.Choice("action", DeadlineActions) ?? GateAction.Pause;
        if (after <= TimeSpan.Zero)
        {
            d.Problems.Error(d.At("after"), $"{d.PathOf("after")} must be positive: a rollout may wait for evidence, but not for no time at all.");
        }

        d.Finish();
        return (after, action);
    }

    private static ProgressionSpec? ReadProgression(MapReader spec)
    {
        var defaults = new ProgressionSpec();
        var p = spec.Map("progression");
        if (p is null)
        {
            return spec.Has("progression") && spec.Node("progression") is not null
                ? null
                : defaults with { InitialWeight = defaults.StepWeight };
        }

        var problems = p.Problems;
        var errorsBefore = problems.ErrorCount;
        var stepWeight = p.Integer("stepWeight", 1, 100);
        var maxWeight = p.Integer("maxWeight", 1, 100);
        var steps = WeightList.Read(p, "stepWeights");
        var stepInterval = p.Duration("stepInterval", MaxWindow) ?? defaults.StepInterval;
        var initialWeight = p.Integer("initialWeight", 1, 100);
        var promotion = p.Integer("promotionStepWeight", 1, 100) ?? 0;
        p.Finish();

        if (steps is { Count: > 0 })
        {
            foreach (var key in new[] { "stepWeight", "maxWeight" })
            {
                if (p.KeyNode(key) is { } written)
                {
                    problems.Error(written, $"{p.PathOf(key)} cannot be used with stepWeights: stepWeights lists every weight, the last one being the maximum.");
                }
            }

            if (initialWeight is { } iw && iw > steps[^1])
            {
                problems.Error(p.At("initialWeight"), $"{p.PathOf("initialWeight")} {iw} is larger than the last of stepWeights ({steps[^1]}).");
            }

            return problems.ErrorCount != errorsBefore ? null : new ProgressionSpec
            {
                StepWeight = steps[0],
                MaxWeight = steps[^1],
                StepWeights = steps,
                StepInterval = stepInterval,
                PromotionStepWeight = promotion,
                InitialWeight = initialWeight ?? steps[0],
            };
        }

        var step = stepWeight ?? defaults.StepWeight;
        var max = maxWeight ?? defaults.MaxWeight;
        if (step > max)
        {
            problems.Error(p.At(stepWeight is null ? "maxWeight" : "stepWeight"), $"{p.PathOf("stepWeight")} {step} is larger than maxWeight {max}.");
        }

        if (initialWeight is { } initial && initial > max)
        {
            problems.Error(p.At("initialWeight"), $"{p.PathOf("initialWeight")} {initial} is larger than maxWeight {max}.");
        }

        return problems.ErrorCount != errorsBefore ? null : new ProgressionSpec
        {
            StepWeight = step,
            MaxWeight = max,
            StepInterval = stepInterval,
            PromotionStepWeight = promotion,
            InitialWeight = initialWeight ?? step,
        };
    }
}
