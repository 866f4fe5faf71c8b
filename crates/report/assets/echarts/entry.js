// The ECharts build of the report: see build.sh.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, HeatmapChart, SankeyChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, TitleComponent, VisualMapComponent, DatasetComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
echarts.use([LineChart, BarChart, HeatmapChart, SankeyChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, VisualMapComponent, DatasetComponent, SVGRenderer]);
window.echarts = echarts;
