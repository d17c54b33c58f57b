// The drawing: a graphology graph rendered by sigma.js (WebGL), laid out by
// ForceAtlas2. It holds no state of its own beyond positions: every render
// is told the whole set of nodes and edges to show, adds what is new near a
// node already placed, and drops what is gone.
import { MultiDirectedGraph } from 'graphology';
import Sigma from 'sigma';
import { EdgeArrowProgram, EdgeLineProgram, NodeCircleProgram, NodePointProgram } from 'sigma/rendering';
import forceAtlas2 from 'graphology-layout-forceatlas2';
import { downloadAsPNG } from '@sigma/export-image';
import { edgeWidth, kindColour, kindLabel } from './format.js';
import { h, fill } from './dom.js';
import { adjacency } from './views/drawing.js';

/**
 * @typedef {{ id: string, name: string, kind: string }} NodeData
 * @typedef {{ id: string, from: string, to: string, kind: string, amount: number | null }} EdgeData
 * @typedef {{ nodes: Map<string, NodeData>, edges: Map<string, EdgeData>, focus: string[], highlight: Set<string> }} Drawing
 */

export class GraphView {
  /**
   * @param {HTMLElement} container where the canvas goes
   * @param {HTMLElement} legend where the legend of kinds goes
   * @param {{ open: (id: string) => void, toggle: (id: string) => void }} actions
   */
  constructor(container, legend, actions) {
    this.container = container;
    this.legend = legend;
    this.graph = new MultiDirectedGraph();
    /** @type {Set<string>} */
    this.focus = new Set();
    /** @type {Set<string>} */
    this.highlight = new Set();
    /** @type {string | null} */
    this.dragged = null;
    this.renderer = new Sigma(this.graph, container, {
      renderEdgeLabels: true,
      defaultEdgeType: 'arrow',
      // Large drawings use one-pixel GL lines: far fewer pixels to fill
      // than arrows drawn as quads, which counts where WebGL is software.
      edgeProgramClasses: { arrow: EdgeArrowProgram, fast: EdgeLineProgram },
      nodeProgramClasses: { circle: NodeCircleProgram, fast: NodePointProgram },
      labelRenderedSizeThreshold: 7,
      edgeLabelSize: 10,
      zIndex: true,
      allowInvalidContainer: true,
      nodeReducer: (node, data) => {
        const res = { ...data };
        if (this.focus.has(node)) {
          res.highlighted = true;
          res.zIndex = 2;
        }
        return res;
      },
      edgeReducer: (edge, data) => {
        const res = { ...data };
        if (this.highlight.size && !this.highlight.has(edge)) res.color = '#dddddd';
        if (this.highlight.has(edge)) res.zIndex = 1;
        return res;
      },
    });
    this.renderer.on('clickNode', ({ node }) => {
      if (!this.moved) actions.open(node);
    });
    this.renderer.on('doubleClickNode', (e) => {
      e.preventSigmaDefault();
      actions.toggle(e.node);
    });
    // Dragging a node moves it and not the camera.
    this.moved = false;
    this.renderer.on('downNode', ({ node }) => {
      this.dragged = node;
      this.moved = false;
      this.graph.setNodeAttribute(node, 'highlighted', true);
    });
    const captor = this.renderer.getMouseCaptor();
    captor.on('mousemovebody', (e) => {
      if (!this.dragged) return;
      const pos = this.renderer.viewportToGraph(e);
      this.graph.mergeNodeAttributes(this.dragged, { x: pos.x, y: pos.y });
      this.moved = true;
      e.preventSigmaDefault();
      e.original.preventDefault();
      e.original.stopPropagation();
    });
    captor.on('mouseup', () => {
      if (this.dragged) this.graph.removeNodeAttribute(this.dragged, 'highlighted');
      this.dragged = null;
      setTimeout(() => (this.moved = false), 0);
    });
  }

  /**
   * Shows exactly `drawing`: new nodes appear next to a neighbour already
   * placed and the layout settles; nodes and edges no longer in it go.
   * @param {Drawing} drawing
   */
  show(drawing) {
    const g = this.graph;
    for (const node of g.nodes()) if (!drawing.nodes.has(node)) g.dropNode(node);
    for (const edge of g.edges()) if (!drawing.edges.has(edge)) g.dropEdge(edge);
    let added = 0;
    const count = drawing.nodes.size;
    // Large drawings use sigma's cheapest programs (lines and points), draw
    // node labels once the camera stops, and no edge labels (thousands of
    // them would be unreadable anyway).
    const large = count > 1000;
    const neighbours = adjacency(drawing);
    const size = large ? 3 : count > 200 ? 5 : 8;
    for (const n of drawing.nodes.values()) {
      const attrs = { label: n.name, kind: n.kind, color: kindColour(n.kind), size, type: large ? 'fast' : 'circle' };
      if (g.hasNode(n.id)) {
        g.mergeNodeAttributes(n.id, attrs);
        continue;
      }
      const near = this.placedNeighbour(neighbours.get(n.id) ?? []);
      const angle = Math.random() * 2 * Math.PI;
      const r = near ? 1 + Math.random() : 10 * Math.random();
      const x = (near?.x ?? 0) + r * Math.cos(angle);
      const y = (near?.y ?? 0) + r * Math.sin(angle);
      g.addNode(n.id, { ...attrs, x, y });
      added += 1;
    }
    let largest = 0;
    for (const e of drawing.edges.values()) largest = Math.max(largest, e.amount ?? 0);
    const type = large ? 'fast' : 'arrow';
    for (const e of drawing.edges.values()) {
      if (!g.hasNode(e.from) || !g.hasNode(e.to)) continue;
      const attrs = { label: kindLabel(e.kind), size: edgeWidth(e.amount, largest), color: e.amount ? '#1b9e77' : '#a0a0a0', type };
      if (g.hasEdge(e.id)) g.mergeEdgeAttributes(e.id, attrs);
      else g.addDirectedEdgeWithKey(e.id, e.from, e.to, attrs);
    }
    this.renderer.setSetting('hideLabelsOnMove', large);
    this.renderer.setSetting('renderEdgeLabels', !large);
    this.focus = new Set(drawing.focus);
    this.highlight = drawing.highlight;
    if (added > 0) this.layout(added);
    this.container.dataset.nodes = String(g.order);
    this.container.dataset.edges = String(g.size);
    this.renderLegend();
    this.renderer.refresh();
  }

  /**
   * The position of the first of `ids` already placed.
   * @param {string[]} ids
   * @returns {{ x: number, y: number } | null}
   */
  placedNeighbour(ids) {
    for (const other of ids) {
      if (this.graph.hasNode(other)) {
        return { x: this.graph.getNodeAttribute(other, 'x'), y: this.graph.getNodeAttribute(other, 'y') };
      }
    }
    return null;
  }

  /**
   * Settles the layout after `added` nodes came: fewer iterations on large
   * drawings, so that an expansion never freezes the page for long.
   * @param {number} added
   */
  layout(added) {
    const order = this.graph.order;
    if (order < 2) return;
    const iterations = order > 2000 ? 10 : order > 500 ? 30 : added > 10 ? 150 : 80;
    const settings = forceAtlas2.inferSettings(this.graph);
    forceAtlas2.assign(this.graph, {
      iterations,
      settings: { ...settings, barnesHutOptimize: order > 300, gravity: 1, slowDown: 5 },
    });
  }

  /** The legend: each entity kind drawn, with its colour and count. */
  renderLegend() {
    /** @type {Map<string, number>} */
    const kinds = new Map();
    this.graph.forEachNode((_, a) => kinds.set(a.kind, (kinds.get(a.kind) ?? 0) + 1));
    fill(this.legend, [...kinds].sort().map(([kind, n]) => {
      const swatch = h('span', { class: 'swatch' });
      // Set through the style object: a style attribute is inline style,
      // which the page's Content-Security-Policy refuses.
      swatch.style.background = kindColour(kind);
      return h('li', {}, [swatch, `${kindLabel(kind)} (${n})`]);
    }));
  }

  /** Centres the camera on the whole drawing. */
  fit() {
    this.renderer.getCamera().animatedReset({ duration: 300 });
  }

  /**
   * Downloads the drawing as a PNG.
   * @param {string} name file name without extension
   */
  async png(name) {
    await downloadAsPNG(this.renderer, { fileName: name, backgroundColor: '#ffffff' });
  }
}
