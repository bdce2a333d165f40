"""Survey configuration and published indicators: waves, items, counting rules, economic figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from audit.history import attribute
from grids.models import Region
from surveys.models import CountingRule, EconomicIndicator, Item, Wave
from surveys.policy import POLICY


@POLICY.command("wave_set")
@transaction.atomic
def wave_ensure(*, actor, code: str, name: str, year: int, starts_on: date, ends_on: date) -> Wave:
    wave = Wave.objects.filter(code=code).first() or Wave(code=code)
    wave.name, wave.year, wave.starts_on, wave.ends_on = name, year, starts_on, ends_on
    wave.full_clean()
    wave.save()
    return wave


@POLICY.command("item_set")
@transaction.atomic
def item_ensure(
    *, actor, code: str, metric: str, question: str, scale: list[str], cant_say: int | None
) -> Item:
    item = Item.objects.filter(code=code).first() or Item(code=code)
    item.metric, item.question, item.scale, item.cant_say = metric, question, scale, cant_say
    item.full_clean()
    item.save()
    return item


@POLICY.command("counting_rule_set")
@transaction.atomic
def counting_rule_set(
    *, actor, wave: Wave, item: Item, counted: list[int], cant_say_in_denominator: bool
) -> CountingRule:
    """Changing a wave's rule changes its published rates: the next full rollup applies it.
    ``actor`` is recorded in the rule's audit trail (unsaved for the demo and set-up loaders)."""
    rule = CountingRule.objects.select_for_update().filter(wave=wave, item=item).first()
    rule = rule or CountingRule(wave=wave, item=item)
    rule.counted, rule.cant_say_in_denominator = sorted(set(counted)), cant_say_in_denominator
    rule.full_clean()
    attribute(rule, actor if actor.pk else None)
    rule.save()
    return rule


@POLICY.command("indicator_set")
@transaction.atomic
def indicator_set(
    *, actor, region: Region, year: int, kind: str, growth_pct: Decimal, source: str = ""
) -> EconomicIndicator:
    indicator = (
        EconomicIndicator.objects.select_for_update().filter(region=region, year=year, kind=kind).first()
    )
    indicator = indicator or EconomicIndicator(region=region, year=year, kind=kind)
    indicator.growth_pct, indicator.source = Decimal(growth_pct), source
    indicator.full_clean()
    indicator.save()
    return indicator
